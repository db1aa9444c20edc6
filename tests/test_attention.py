"""The attention cvviz shows is the attention the model really uses, and rollout/distance are exact."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torchvision.models.swin_transformer import (
    PatchMergingV2,
    ShiftedWindowAttentionV2,
    SwinTransformer,
    SwinTransformerBlockV2,
)
from torchvision.models.vision_transformer import VisionTransformer

from cvviz.catalog import get_spec
from cvviz.explain.attention import (
    NotATransformerError,
    capture_attention_inputs,
    mha_attention_probs,
    mha_output_from_probs,
    swin_attention,
    swin_attention_probs,
    swin_layout,
    swin_output_from_probs,
    vit_attention,
    vit_attention_for,
    vit_attention_gradients,
)
from cvviz.explain.attention.rollout import (
    attention_rollout,
    class_token_grid,
    discard_lowest,
    gradient_rollout,
    mean_attention_distance,
)
from cvviz.hooks import capture_outputs, count_hooks
from cvviz.models.build import build_architecture

ROOT = Path(__file__).resolve().parent.parent
SMALL_VIT_LAYERS = (
    "encoder.layers.encoder_layer_0.self_attention",
    "encoder.layers.encoder_layer_1.self_attention",
)


@pytest.fixture(scope="module")
def small_vit() -> VisionTransformer:
    torch.manual_seed(0)
    model = VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32, num_classes=5
    ).eval()
    nn.init.normal_(model.heads.head.weight)  # torchvision zero-initialises the head: give it a gradient
    return model.requires_grad_(False)


def _small_swin(v2: bool) -> SwinTransformer:
    torch.manual_seed(0)
    extra = {"block": SwinTransformerBlockV2, "downsample_layer": PatchMergingV2} if v2 else {}
    model = SwinTransformer(
        patch_size=[4, 4],
        embed_dim=8,
        depths=[2, 2],
        num_heads=[2, 2],
        window_size=[4, 4],
        num_classes=5,
        stochastic_depth_prob=0.0,
        **extra,
    ).eval()
    if v2:
        # Make V2's logit scale and CPB MLP matter: they start near constant.
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, ShiftedWindowAttentionV2):
                    module.logit_scale.uniform_(0.0, 3.0)
    return model.requires_grad_(False)


def _recompute_and_compare_vit(model: nn.Module, names, batch) -> None:
    modules = dict(model.named_modules())
    with (
        torch.no_grad(),
        capture_attention_inputs(model, names) as inputs,
        capture_outputs(model, names) as outs,
    ):
        model(batch)
    for name in names:
        probs = mha_attention_probs(modules[name], inputs[name])
        torch.testing.assert_close(probs.sum(-1), torch.ones(probs.shape[:-1]))
        rebuilt = mha_output_from_probs(modules[name], inputs[name], probs)
        torch.testing.assert_close(rebuilt, outs[name], rtol=1e-4, atol=1e-5)
    assert count_hooks(model) == 0


def test_vit_attention_reproduces_module_output_small_vit(small_vit):
    _recompute_and_compare_vit(small_vit, SMALL_VIT_LAYERS, torch.randn(2, 3, 32, 32))


def test_vit_attention_reproduces_module_output_vit_b_32():
    spec = get_spec("vit_b_32")
    model = build_architecture(spec).requires_grad_(False)
    batch = torch.randn(1, *spec.input_shape)
    _recompute_and_compare_vit(model, spec.attention_layers, batch)
    maps = vit_attention_for(spec, model, batch)
    assert maps.attn.shape == (12, 12, 50, 50)
    assert maps.grid == (7, 7) and maps.num_prefix_tokens == 1
    np.testing.assert_allclose(maps.attn.sum(-1), 1.0, rtol=1e-5)


def test_vit_attention_maps_shape_and_rows_sum_to_one(small_vit):
    maps = vit_attention(small_vit, torch.randn(1, 3, 32, 32), SMALL_VIT_LAYERS)
    assert maps.attn.shape == (2, 2, 17, 17)
    assert maps.grid == (4, 4) and maps.patch_size == 8 and maps.layer_names == SMALL_VIT_LAYERS
    np.testing.assert_allclose(maps.attn.sum(-1), 1.0, rtol=1e-5)
    assert maps.class_token_maps().shape == (2, 2, 4, 4)
    np.testing.assert_array_equal(maps.query_maps((1, 2))[0, 1].ravel(), maps.attn[0, 1, 1 + 4 + 2, 1:])
    assert count_hooks(small_vit) == 0


class _Boom(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom")


def test_vit_attention_hooks_removed_after_exception_mid_forward():
    model = VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32
    )
    model.heads = _Boom()  # raises after both attention layers have run (and their hooks fired)
    model.eval().requires_grad_(False)
    with pytest.raises(RuntimeError, match="boom"):
        vit_attention(model, torch.randn(1, 3, 32, 32), SMALL_VIT_LAYERS)
    assert count_hooks(model) == 0
    with pytest.raises(RuntimeError, match="boom"):
        vit_attention_gradients(model, torch.randn(1, 3, 32, 32), SMALL_VIT_LAYERS)
    assert count_hooks(model) == 0


def test_vit_attention_refuses_a_cnn():
    spec = get_spec("resnet18")
    with pytest.raises(NotATransformerError, match="no self-attention"):
        vit_attention_for(spec, nn.Identity(), torch.zeros(1))


def test_vit_attention_gradients_match_autograd_and_leave_model_alone(small_vit):
    batch = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        expected_logits = small_vit(batch)
    result = vit_attention_gradients(small_vit, batch, SMALL_VIT_LAYERS)
    assert result.target == int(expected_logits[0].argmax())
    assert result.grad.shape == result.maps.attn.shape == (2, 2, 17, 17)
    # The last layer's gradient is analytic: y = head(ln(x + out_proj(P V))[cls]) only reads the class row.
    assert np.abs(result.grad[1, :, 1:, :]).max() == 0.0
    assert np.abs(result.grad[1, :, 0, :]).max() > 0.0
    np.testing.assert_allclose(
        result.maps.attn, vit_attention(small_vit, batch, SMALL_VIT_LAYERS).attn, atol=1e-6
    )
    assert count_hooks(small_vit) == 0
    assert not any(p.requires_grad for p in small_vit.parameters())
    relevance = gradient_rollout(result.maps.attn, result.grad)
    assert class_token_grid(relevance, result.maps.grid).shape == (4, 4)


def test_gradient_rollout_of_a_zero_initialised_head_vanishes_and_says_so(small_vit):
    torch.manual_seed(0)
    fresh = VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32, num_classes=5
    ).eval()  # as built: torchvision starts the classification head at zero
    batch = torch.randn(1, 3, 32, 32)
    flat = vit_attention_gradients(fresh.requires_grad_(False), batch, SMALL_VIT_LAYERS)
    assert flat.vanishes
    relevance = class_token_grid(gradient_rollout(flat.maps.attn, flat.grad), flat.maps.grid)
    assert np.ptp(relevance) == 0  # the flat map the page explains
    assert not vit_attention_gradients(small_vit, batch, SMALL_VIT_LAYERS).vanishes


def test_vit_attention_gradients_match_finite_differences(small_vit):
    """∂y/∂P from the hooks equals a central difference of the logit when layer 0's probabilities are
    nudged along a random direction D (later layers recompute theirs from the changed input)."""
    model = copy.deepcopy(small_vit).double()
    batch = torch.randn(1, 3, 32, 32, dtype=torch.float64)
    result = vit_attention_gradients(model, batch, SMALL_VIT_LAYERS, target=2)
    direction = torch.randn(1, 2, 17, 17, dtype=torch.float64)
    module = model.encoder.layers.encoder_layer_0.self_attention

    def logit(eps: float) -> float:
        def hook(mod, args, output):
            probs = mha_attention_probs(mod, args[0]) + eps * direction
            return (mha_output_from_probs(mod, args[0], probs), None)

        handle = module.register_forward_hook(hook)
        try:
            with torch.no_grad():
                return float(model(batch)[0, 2])
        finally:
            handle.remove()

    eps = 1e-5
    numeric = (logit(eps) - logit(-eps)) / (2 * eps)
    analytic = float((torch.from_numpy(result.grad[0]).double() * direction[0]).sum())
    assert numeric == pytest.approx(analytic, rel=1e-4, abs=1e-8)
    assert abs(analytic) > 1e-6


@pytest.mark.parametrize("v2", [False, True], ids=["v1", "v2"])
@pytest.mark.parametrize("block", ["features.1.0.attn", "features.1.1.attn"], ids=["unshifted", "shifted"])
def test_swin_attention_reproduces_module_output(v2, block):
    model = _small_swin(v2)
    modules = dict(model.named_modules())
    batch = torch.randn(2, 3, 32, 32)
    with (
        torch.no_grad(),
        capture_attention_inputs(model, [block]) as inputs,
        capture_outputs(model, [block]) as outs,
    ):
        model(batch)
    layout = swin_layout(modules[block], inputs[block], block)
    assert layout.feature_size == (8, 8) and layout.windows == (2, 2)
    assert layout.shifted == block.endswith("1.attn")
    probs = swin_attention_probs(modules[block], inputs[block], layout)
    assert probs.shape == (2 * 4, 2, 16, 16)
    torch.testing.assert_close(probs.sum(-1), torch.ones(probs.shape[:-1]))
    rebuilt = swin_output_from_probs(modules[block], inputs[block], layout, probs)
    torch.testing.assert_close(rebuilt, outs[block], rtol=1e-4, atol=1e-5)
    assert count_hooks(model) == 0


@pytest.mark.parametrize("v2", [False, True], ids=["v1", "v2"])
def test_swin_attention_reproduces_module_output_with_padding(v2):
    # A 40×40 input gives 10×10 and 5×5 token maps: windows of 4 need padding to 12 and 8.
    model = _small_swin(v2)
    modules = dict(model.named_modules())
    names = ("features.1.1.attn", "features.3.1.attn")
    with (
        torch.no_grad(),
        capture_attention_inputs(model, names) as inputs,
        capture_outputs(model, names) as outs,
    ):
        model(torch.randn(1, 3, 40, 40))
    for name, padded in zip(names, [(12, 12), (8, 8)]):
        layout = swin_layout(modules[name], inputs[name], name)
        assert layout.padded_size == padded and layout.shift_size == (2, 2)
        probs = swin_attention_probs(modules[name], inputs[name], layout)
        rebuilt = swin_output_from_probs(modules[name], inputs[name], layout, probs)
        torch.testing.assert_close(rebuilt, outs[name], rtol=1e-4, atol=1e-5)


def test_swin_attention_result_geometry_and_mask():
    model = _small_swin(False)
    names = ("features.1.0.attn", "features.1.1.attn", "features.3.0.attn", "features.3.1.attn")
    result, layouts = swin_attention(model, torch.randn(1, 3, 32, 32), names, "features.1.1.attn")
    assert result.attn.shape == (4, 2, 16, 16)
    assert result.relative_position_bias.shape == (2, 16, 16)
    assert [layout.stride for layout in layouts] == [4, 4, 8, 8]
    # Stage 2 is 4×4 tokens: one window covers it, so no shift is applied.
    assert layouts[3].shift_size == (0, 0) and layouts[1].shift_size == (2, 2)
    # Masked pairs get (almost) no attention; the first window is unaffected by the shift.
    assert result.mask[0].all() and not result.mask[-1].all()
    assert result.attn[-1][:, ~result.mask[-1]].max() < 1e-6
    assert count_hooks(model) == 0


# --- Rollout and distance, against numbers worked out by hand -----------------------------------------


def test_attention_rollout_matches_hand_computed_example():
    # Two layers, one head, three tokens.
    a1 = np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    a2 = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    # 0.5·A + 0.5·I keeps rows summing to 1:
    # A1' = [[.75,.25,0],[0,1,0],[0,0,1]]; A2' = [[.5,0,.5],[.5,.5,0],[0,.5,.5]].
    # R = A2'·A1' = [[.375,.125,.5],[.375,.625,0],[0,.5,.5]].
    expected = np.array([[0.375, 0.125, 0.5], [0.375, 0.625, 0.0], [0.0, 0.5, 0.5]])
    attn = np.stack([a1, a2])[:, None]
    np.testing.assert_allclose(attention_rollout(attn), expected)
    np.testing.assert_allclose(class_token_grid(expected, (1, 2)), [[0.125, 0.5]])


def test_attention_rollout_head_fusion_and_discard():
    # Two heads whose mean is the example above's layer 1; max/min pick per entry.
    h1 = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    h2 = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    attn = np.stack([h1, h2])[None]
    np.testing.assert_allclose(attention_rollout(attn, "mean"), [[0.75, 0.25, 0], [0, 1, 0], [0, 0, 1]])
    # max: [[1,1,0],...] → 0.5A+0.5I = [[1,.5,0],[0,1,0],[0,0,1]] → row 0 renormalised to [2/3, 1/3, 0].
    np.testing.assert_allclose(attention_rollout(attn, "max")[0], [2 / 3, 1 / 3, 0])
    # min: [[0,0,0],...] → row 0 = 0.5·I row → renormalised [1, 0, 0].
    np.testing.assert_allclose(attention_rollout(attn, "min")[0], [1, 0, 0])
    # Discarding the lowest 2/9 of a layer whose [0,0] is among the smallest keeps [0,0].
    layer = np.array([[0.01, 0.5, 0.49], [0.02, 0.9, 0.08], [0.3, 0.3, 0.4]])
    kept = discard_lowest(layer, 2 / 9)
    assert kept[0, 0] == 0.01 and kept[1, 0] == 0.0
    np.testing.assert_array_equal(np.delete(kept.ravel(), 3), np.delete(layer.ravel(), 3))


def test_mean_attention_distance_known_answer():
    # 1×2 patch grid of 10 px patches plus a class token; centres 10 px apart.
    attn = np.zeros((2, 2, 3, 3))
    attn[0, 0, :, 0] = 1.0  # only the class token: excluded → rows renormalise over patches
    attn[0, 0, 1:, 1:] = [[0.5, 0.5], [0.5, 0.5]]  # half on the other patch → 5 px
    attn[0, 1, 1:, 1:] = np.eye(2)  # attends to itself → 0 px
    attn[1, 0, 1:, 1:] = [[0, 1], [1, 0]]  # attends to the other → 10 px
    attn[1, 1, 1:, 1:] = [[0.25, 0.75], [0.75, 0.25]]  # 7.5 px
    np.testing.assert_allclose(mean_attention_distance(attn, (1, 2), 10), [[5.0, 0.0], [10.0, 7.5]])


# --- CLI ---------------------------------------------------------------------------------------------


def test_cli_attention_writes_vit_attention(tmp_path, capsys, torch_home):
    from cvviz.cli import main
    from cvviz.data.images import sample_images

    image = sample_images()[0].path
    out = tmp_path / "attn.npz"
    assert main(["attention", str(image), "--model", "vit_b_32", "--untrained", "--out", str(out)]) == 0
    data = np.load(out)
    assert data["attn"].shape == (12, 12, 50, 50)
    assert tuple(data["grid"]) == (7, 7)
    np.testing.assert_allclose(data["attn"].sum(-1), 1.0, rtol=1e-5)


def test_cli_attention_refuses_a_cnn(tmp_path, capsys):
    from cvviz.cli import main

    code = main(["attention", "x.png", "--model", "resnet18", "--out", str(tmp_path / "a.npz")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and err.count("\n") == 1
    assert not (tmp_path / "a.npz").exists()


def test_cli_attention_without_weights_offline_suggests_flags(tmp_path, capsys, torch_home):
    from cvviz.cli import main
    from cvviz.data.images import sample_images

    image = sample_images()[0].path
    code = main(["attention", str(image), "--model", "vit_b_32", "--out", str(tmp_path / "a.npz")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and err.count("\n") == 1
    assert "--weights" in err and "--untrained" in err


def test_window_layout_tokens_and_masked_pairs_follow_the_shift():
    model = _small_swin(False)
    names = ("features.1.0.attn", "features.1.1.attn")
    result, layouts = swin_attention(model, torch.randn(1, 3, 32, 32), names, "features.1.1.attn")
    shifted = result.layout
    # Window 0 of the shifted grid starts 2 tokens down and right; the last window wraps around.
    assert tuple(shifted.window_tokens(0)[0]) == (2, 2)
    assert tuple(shifted.window_tokens(3)[-1]) == (1, 1)
    assert tuple(layouts[0].window_tokens(3)[0]) == (4, 4)
    # Window 0 holds one region (nothing masked); the corner window four regions of 2×2 tokens each:
    # 16² pairs minus 4 regions × 4² same-region pairs.
    assert result.masked_pairs(0) == 0 and result.masked_pairs(3) == 16 * 16 - 4 * 4 * 4


# --- Page --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["vit_b_32", "swin_t"])
def test_attention_page_runs_for_transformers(name):
    from streamlit.testing.v1 import AppTest

    from ui.sidebar import model_label

    at = AppTest.from_file(str(ROOT / "app_pages" / "attention.py"), default_timeout=240)
    at.session_state["global.model"] = model_label(name)
    at.session_state["global.weights"] = "random"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("Untrained" in w.value for w in at.warning)
    if name == "vit_b_32":
        at.toggle(key="attention.gradient").set_value(True).run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("chosen class" in c.value for c in at.caption)
        # Random weights: the head is zero, the gradient vanishes, and the page says why the map is flat.
        assert any("flat" in i.value and "random weights" in i.value for i in at.info)
        options = at.selectbox(key="attention.vit_b_32.target").options
        at.selectbox(key="attention.vit_b_32.target").set_value(options[1]).run()
        assert not at.exception, [e.value for e in at.exception]
    else:
        assert any("Inside one window" in h.value for h in at.subheader)


def test_cli_attention_missing_weights_file_is_one_error_line(tmp_path, capsys):
    from cvviz.cli import main
    from cvviz.data.images import sample_images

    image = sample_images()[0].path
    code = main(
        ["attention", str(image), "--model", "vit_b_32", "--weights", str(tmp_path / "no.pth"), "--out", "x"]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: Could not read the weights file") and err.count("\n") == 1


# --- Figures -----------------------------------------------------------------------------------------


def test_swin_windows_figure_draws_shifted_boundaries():
    from PIL import Image

    from cvviz.explain.attention import WindowLayout
    from cvviz.plotting.attention import swin_windows_figure

    image = Image.new("RGB", (224, 224))
    regular = WindowLayout("a", (56, 56), (56, 56), (7, 7), (0, 0), 4)
    shifted = WindowLayout("b", (56, 56), (56, 56), (7, 7), (3, 3), 4)
    lines = [
        s.y0 for s in swin_windows_figure(image, regular, "r").layout.shapes if s.x0 == 0 and s.y0 == s.y1
    ]
    assert sorted(lines) == [28 * k for k in range(8)]
    lines = [
        s.y0 for s in swin_windows_figure(image, shifted, "s").layout.shapes if s.x0 == 0 and s.y0 == s.y1
    ]
    assert sorted(lines) == [12 + 28 * k for k in range(8)]
    highlighted = swin_windows_figure(image, shifted, "s", highlight=shifted.window_tokens(0)).layout.shapes
    assert len(highlighted) == 16 + 49


def test_attention_page_explains_and_stops_for_a_cnn():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app_pages" / "attention.py"), default_timeout=240).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("no self-attention" in info.value for info in at.info)
    assert not at.tabs and not at.button


def test_swin_attention_hooks_removed_after_exception_mid_forward():
    model = _small_swin(True)
    model.head = _Boom()
    with pytest.raises(RuntimeError, match="boom"):
        swin_attention(
            model, torch.randn(1, 3, 32, 32), ("features.1.0.attn", "features.1.1.attn"), "features.1.1.attn"
        )
    assert count_hooks(model) == 0


def test_capture_attention_inputs_ignores_other_threads(small_vit):
    import threading

    other = torch.randn(1, 3, 32, 32)
    with torch.no_grad(), capture_attention_inputs(small_vit, SMALL_VIT_LAYERS) as inputs:
        worker = threading.Thread(target=lambda: small_vit(other))
        worker.start()
        worker.join()
        assert inputs == {}
        small_vit(torch.randn(1, 3, 32, 32))
        assert set(inputs) == set(SMALL_VIT_LAYERS)
    assert count_hooks(small_vit) == 0
