"""Saliency: correctness (completeness, a planted region), every family, no side effects, sanity, curves."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from cvviz.catalog import get_spec
from cvviz.explain.saliency import METHODS, SaliencyError, SaliencyOptions, attribute, private_copy
from cvviz.explain.saliency.faithfulness import perturbation_curve
from cvviz.explain.saliency.sanity import (
    cascading_randomisation,
    randomisation_groups,
    reinitialise,
    spearman,
    ssim,
)
from cvviz.hooks import count_hooks
from cvviz.models.build import build_architecture
from cvviz.models.loading import WeightsInfo
from cvviz.models.workbench import LoadedModel

FAST = SaliencyOptions(steps=4, internal_batch_size=4, n_samples=2, window=16, stride=16)
BOX = (8, 18, 10, 22)  # rows 8..17, columns 10..21


class Planted(nn.Module):
    """Output depends only on the pixels inside BOX: the input is masked, then convolved (no biases)."""

    def __init__(self, size: int = 32) -> None:
        super().__init__()
        mask = torch.zeros(1, 1, size, size)
        mask[..., BOX[0] : BOX[1], BOX[2] : BOX[3]] = 1.0
        self.register_buffer("mask", mask)
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.relu2 = nn.ReLU(inplace=True)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu2(self.conv2(self.relu1(self.conv1(x * self.mask))))
        return self.fc(self.pool(x).flatten(1))


def _outside(size: int, dilate: int) -> np.ndarray:
    outside = np.ones((size, size), dtype=bool)
    outside[max(0, BOX[0] - dilate) : BOX[1] + dilate, max(0, BOX[2] - dilate) : BOX[3] + dilate] = False
    return outside


# How far outside the box each method may legitimately put mass: gradient methods none (the mask's
# gradient is exactly zero there); Occlusion up to window−1 pixels (a window overlapping the box also
# covers pixels beside it); the CAM family on conv2 (same resolution, so no upsampling blur) up to its
# receptive field radius, 2 pixels for two 3×3 convolutions.
PLANTED_SLACK = {name: 2 if METHODS[name].layer_map else 0 for name in METHODS} | {"occlusion": 3}


@pytest.mark.parametrize("method", [name for name, method in METHODS.items() if method.attention is None])
def test_attribute_planted_region_gets_all_the_attribution(method):
    model = Planted().eval()
    x = torch.rand(1, 3, 32, 32)
    options = SaliencyOptions(steps=16, n_samples=4, window=4, stride=2, layer="conv2", relu=False)
    result = attribute(model, None, x, method, 1, options)
    magnitude = np.abs(result.map)
    assert result.map.shape == (32, 32)
    assert magnitude.max() > 0
    outside = _outside(32, PLANTED_SLACK[method])
    assert magnitude[outside].max() <= 1e-6 * magnitude.max()


def test_attribute_integrated_gradients_is_complete():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 3)
    ).double()
    model.eval()
    x = torch.rand(1, 3, 12, 12, dtype=torch.float64)
    result = attribute(model, None, x, "integrated_gradients", 2, SaliencyOptions(steps=300))
    with torch.no_grad():
        expected = model(x)[0, 2] - model(torch.zeros_like(x))[0, 2]
    assert result.raw.sum() == pytest.approx(float(expected), rel=1e-3, abs=1e-4)


def _tiny_vit() -> tuple[nn.Module, object]:
    model = torchvision.models.VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32, num_classes=10
    )
    nn.init.normal_(model.heads.head.weight, std=0.5)  # torchvision zero-initialises the head
    spec = dataclasses.replace(
        get_spec("vit_b_32"),
        stages=("encoder.layers.encoder_layer_1",),
        attention_layers=tuple(f"encoder.layers.encoder_layer_{i}.self_attention" for i in range(2)),
    )
    return model.eval(), spec


def _tiny_swin() -> tuple[nn.Module, object]:
    model = torchvision.models.SwinTransformer(
        patch_size=[4, 4], embed_dim=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1], window_size=[2, 2],
        num_classes=10,
    )  # fmt: skip
    return model.eval(), get_spec("swin_t")


def _tiny_maxvit() -> tuple[nn.Module, object]:
    model = torchvision.models.MaxVit(
        input_size=(32, 32), stem_channels=8, partition_size=2, block_channels=[8, 16], block_layers=[1, 1],
        head_dim=4, stochastic_depth_prob=0.0, num_classes=10,
    )  # fmt: skip
    spec = dataclasses.replace(get_spec("maxvit_t"), stages=("blocks.0", "blocks.1"))
    return model.eval(), spec


def _lenet() -> tuple[nn.Module, object]:
    spec = get_spec("lenet5")  # ResNet-18's in-place, reused ReLUs are covered by the tests below
    return build_architecture(spec), spec


FAMILIES = {"cnn": _lenet, "vit": _tiny_vit, "swin": _tiny_swin, "hybrid": _tiny_maxvit}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_attribute_every_method_runs_on_each_family(family):
    model, spec = FAMILIES[family]()
    size = 32
    x = torch.randn(1, spec.input_shape[0], size, size)
    private = private_copy(model, spec)
    for method in METHODS:
        if not METHODS[method].applies_to(spec):  # ViT-only methods say so in one sentence
            with pytest.raises(SaliencyError, match="CAM family"):
                attribute(private, spec, x, method, 3, FAST)
            continue
        result = attribute(private, spec, x, method, 3, FAST)
        assert result.map.shape == (size, size), method
        assert np.isfinite(result.map).all(), method
        if METHODS[method].uses_layer:
            assert result.layer is not None


def _shared_resnet18() -> LoadedModel:
    spec = get_spec("resnet18")
    model = build_architecture(spec).requires_grad_(False)
    return LoadedModel(spec, model, WeightsInfo("random", "random"), torch.device("cpu"), 0)


def _assert_untouched(loaded: LoadedModel, x: torch.Tensor) -> None:
    with loaded.exclusive() as model:
        assert count_hooks(model) == 0
        assert all(p.grad is None and not p.requires_grad for p in model.parameters())
        assert x.grad is None and not x.requires_grad
        assert model.relu.inplace  # the shared model keeps its in-place ReLU


@pytest.mark.parametrize("method", ["guided_backprop", "deeplift", "integrated_gradients"])
def test_attribute_leaves_shared_model_untouched_even_inside_no_grad(method):
    loaded = _shared_resnet18()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        result = attribute(loaded, loaded.spec, x, method, 5, FAST)
    assert np.abs(result.map).sum() > 0
    _assert_untouched(loaded, x)


def test_attribute_bad_target_raises_one_sentence_and_leaves_nothing():
    loaded = _shared_resnet18()
    x = torch.randn(1, 3, 32, 32)
    with pytest.raises(SaliencyError, match="out of range"):
        attribute(loaded, loaded.spec, x, "saliency", 1000, FAST)
    _assert_untouched(loaded, x)


def test_attribute_cleans_up_when_the_model_fails_midway():
    loaded = _shared_resnet18()

    def fail(module, inputs, output):
        raise RuntimeError("boom")

    x = torch.randn(1, 3, 32, 32)
    private = private_copy(loaded)
    private.model.fc.register_forward_hook(fail)
    for method in ("guided_backprop", "deeplift", "grad_cam"):
        with pytest.raises(RuntimeError, match="boom"):
            attribute(private, loaded.spec, x, method, 5, FAST)
        assert count_hooks(private.model) == 1  # only the failing hook: Captum's were removed
    _assert_untouched(loaded, x)


def test_attribute_unknown_method_lists_the_valid_ones():
    with pytest.raises(SaliencyError, match="integrated_gradients"):
        attribute(Planted(), None, torch.rand(1, 3, 32, 32), "lime", 0)


def test_sanity_similarity_is_one_at_start_and_drops_after_randomisation():
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4),
    ).eval()  # fmt: skip
    x = torch.rand(1, 3, 24, 24)
    result = cascading_randomisation(model, None, x, "saliency", 1)
    assert result.steps[0].name == "original"
    assert result.steps[0].spearman == pytest.approx(1.0)
    assert result.steps[0].ssim == pytest.approx(1.0)
    assert [s.name for s in result.steps[1:]] == ["6", "2", "0"]
    assert result.steps[-1].spearman < 0.9
    assert count_hooks(model) == 0


def test_sanity_groups_follow_catalog_stages_top_down():
    loaded = _shared_resnet18()
    result = cascading_randomisation(loaded, loaded.spec, torch.randn(1, 3, 32, 32), "grad_cam", 1, FAST)
    assert [s.name for s in result.steps] == [
        "original",
        "head",
        "layer4",
        "layer3",
        "layer2",
        "layer1",
        "stem",
    ]  # fmt: skip  (the stage "relu" has no parameters: no step)
    _assert_untouched(loaded, torch.zeros(1))


def test_sanity_groups_partition_parameters_and_keep_unnamed_blocks_with_the_stage_below():
    # As in a ViT: a token owned by the model itself, blocks between the named stages, a norm and a head.
    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.token = nn.Parameter(torch.zeros(1, 4))
            self.stem = nn.Linear(4, 4)
            self.blocks = nn.Sequential(*(nn.Linear(4, 4) for _ in range(5)))
            self.norm = nn.LayerNorm(4)
            self.fc = nn.Linear(4, 2)

    model = Tiny()
    groups = randomisation_groups(model, ("blocks.0", "blocks.3"))
    names = {id(m): n for n, m in model.named_modules()}
    assert [(g, [names[id(m)] for m in mods]) for g, mods in groups] == [
        ("head", ["blocks.4", "norm", "fc"]),
        ("blocks.3", ["blocks.3"]),
        ("blocks.0", ["blocks.0", "blocks.1", "blocks.2"]),
        ("stem", ["", "stem"]),
    ]
    with torch.no_grad():
        model.norm.weight.fill_(2.0)  # as trained, so that its reset shows
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    reinitialise(groups[0][1], generator_seed=0)  # the head step touches nothing below the last stage
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed == {"blocks.4.weight", "blocks.4.bias", "norm.weight", "fc.weight", "fc.bias"}


def test_similarity_measures_known_answers():
    a = np.arange(16.0).reshape(4, 4)
    assert spearman(a, a**2) == pytest.approx(1.0)
    assert spearman(a, -a) == pytest.approx(-1.0)
    flat = np.zeros((4, 4))
    assert spearman(flat, flat) == 1.0  # a flat map is itself: the sanity check's "original" step
    assert spearman(flat, a) == 0.0
    b = np.random.default_rng(0).random((16, 16))
    assert ssim(b, b) == pytest.approx(1.0)
    assert ssim(b, 1 - b) < 0.5


def test_perturbation_curves_start_and_end_at_known_probabilities():
    model = Planted().eval()
    x = torch.rand(1, 3, 32, 32)
    attr = attribute(model, None, x, "saliency", 1).map
    with torch.no_grad():
        p_image = model(x).softmax(-1)[0, 1].item()
        p_black = model(torch.zeros_like(x)).softmax(-1)[0, 1].item()
    deletion = perturbation_curve(model, None, x, attr, 1, "deletion", steps=8)
    insertion = perturbation_curve(model, None, x, attr, 1, "insertion", steps=8, baseline="black")
    assert deletion.fractions[0] == 0 and deletion.fractions[-1] == 1 and len(deletion.probs) == 9
    assert deletion.probs[0] == pytest.approx(p_image, abs=1e-6)
    assert deletion.probs[-1] == pytest.approx(p_black, abs=1e-6)
    assert insertion.probs[0] == pytest.approx(p_black, abs=1e-6)
    assert insertion.probs[-1] == pytest.approx(p_image, abs=1e-6)
    assert deletion.auc == pytest.approx(np.trapezoid(deletion.probs, deletion.fractions))
    assert 0 <= deletion.auc <= 1


def test_cli_saliency_writes_map_at_input_resolution(tmp_path, cat_image):
    from cvviz.cli import main

    image = tmp_path / "cat.png"
    cat_image.save(image)
    out = tmp_path / "map.npz"
    status = main(["saliency", str(image), "--model", "lenet5", "--method", "saliency", "--untrained",
                   "--target", "3", "--out", str(out)])  # fmt: skip
    assert status == 0
    data = np.load(out)
    assert data["attribution"].shape == (32, 32)
    assert int(data["target"]) == 3


def test_cli_saliency_unknown_method_exits_2_with_one_line(tmp_path, cat_image, capsys):
    from cvviz.cli import main

    image = tmp_path / "cat.png"
    cat_image.save(image)
    status = main(["saliency", str(image), "--model", "lenet5", "--method", "lime", "--untrained",
                   "--out", str(tmp_path / "x.npz")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1 and err[0].startswith("error:") and "grad_cam" in err[0]


def _class_box(at):
    return next(box for box in at.selectbox if box.label.startswith("Class to explain"))


def _finish_job(at, key: str):
    """Wait for the page's background job ``key`` and rerun, as the page's progress fragment would."""
    assert at.session_state[f"{key}.job"]["job"].wait(timeout=240)
    return at.run()


def test_saliency_page_shows_maps_for_several_methods_and_a_chosen_class():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    page = Path(__file__).resolve().parent.parent / "app_pages" / "saliency.py"
    at = AppTest.from_file(str(page), default_timeout=240).run()
    assert not at.exception and not at.error
    assert at.multiselect(key="saliency.methods").value == ["Grad-CAM"]
    assert "Transformer relevance" not in at.multiselect(key="saliency.methods").options  # a CNN: said why
    assert any("need a Vision Transformer" in c.value for c in at.caption)
    assert _class_box(at).value.startswith("top-1: 282: tiger cat")
    assert any("282: tiger cat" in c.value for c in at.caption)
    _class_box(at).set_value("281: tabby").run()
    at.multiselect(key="saliency.methods").set_value(["Grad-CAM", "Saliency (gradient)"]).run()
    assert not at.exception and not at.error
    assert any("281: tabby" in c.value for c in at.caption)
    # Score-CAM not run yet: its time is unknown (a pass per channel), so the sanity check claims none.
    at.multiselect(key="saliency.methods").set_value(["Grad-CAM", "Score-CAM"]).run()
    assert not at.exception and not at.error
    assert at.button(key="saliency.sanity.start").label == "Run sanity check"


def test_saliency_sanity_check_result_survives_unrelated_changes_and_goes_with_its_inputs():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    page = Path(__file__).resolve().parent.parent / "app_pages" / "saliency.py"
    at = AppTest.from_file(str(page), default_timeout=240).run()
    start = at.button(key="saliency.sanity.start")
    assert start.label.startswith("Run sanity check (about")  # the duration is said before starting
    start.click().run()
    at = _finish_job(at, "saliency.sanity")
    assert not at.exception and not at.error
    assert at.radio(key="saliency.sanity_metric").value == "spearman"  # drawn only with a result
    # A display option and an unrelated control keep the result; its inputs changing takes it away.
    at.radio(key="saliency.sanity_metric").set_value("ssim").run()
    assert at.radio(key="saliency.sanity_metric").value == "ssim"
    at.slider(key="saliency.opacity").set_value(0.3).run()
    assert [r for r in at.radio if r.key == "saliency.sanity_metric"]
    _class_box(at).set_value("281: tabby").run()
    assert not [r for r in at.radio if r.key == "saliency.sanity_metric"]
    assert at.button(key="saliency.sanity.start").label.startswith("Run sanity check (about")


def test_saliency_grad_cam_layer_follows_the_model():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from ui.sidebar import model_label

    page = Path(__file__).resolve().parent.parent / "app_pages" / "saliency.py"
    at = AppTest.from_file(str(page), default_timeout=240).run()
    layer = next(box for box in at.text_input if box.label == "Grad-CAM layer")
    assert layer.value == "head"  # EfficientNet-Lite0's last stage
    at.session_state["global.model"] = model_label("resnet18")
    at.session_state["global.weights"] = "random"
    at.run()
    assert not at.exception and not at.error
    layer = next(box for box in at.text_input if box.label == "Grad-CAM layer")
    assert layer.value == "layer4"
