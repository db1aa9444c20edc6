"""MAE, DINO and DINOv2: catalog entries of their own task, masking, patches, the MAE loss, checkpoints in
the authors' layout (layer scale and interpolated positions for DINOv2), DINO's attention, the page."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.models as tvm
from streamlit.testing.v1 import AppTest
from torch import nn

from cvviz.catalog import (
    PRETRAINING_LABELS,
    SELF_SUPERVISED,
    get_family,
    get_spec,
    list_models,
    list_self_supervised,
    registry,
)
from cvviz.cli import main
from cvviz.data.images import sample_images
from cvviz.errors import UnknownModelError, WeightsError, WeightsMismatchError
from cvviz.explain.attention import capture_attention_inputs, mha_attention_probs, mha_output_from_probs
from cvviz.families.dino import dino_spec, interpolate_position_embedding
from cvviz.families.mae import mae_spec
from cvviz.hooks import capture_outputs, count_hooks
from cvviz.models.architectures.layer_scale_vit import LayerScaleEncoderBlock
from cvviz.models.architectures.mae import VitShape
from cvviz.models.build import build_architecture, build_on_meta
from cvviz.models.inference import preprocess
from cvviz.models.loading import WeightsInfo, build_model
from cvviz.models.weights import download_weights, list_cached_weights
from cvviz.models.workbench import LoadedModel, ResultCache, Workbench
from cvviz.selfsupervised.dino import last_layer_class_attention, mass_mask
from cvviz.selfsupervised.knn import knn_job, knn_scores, leave_one_out
from cvviz.selfsupervised.mae import (
    MaskError,
    kept_count,
    mae_loss,
    patchify,
    random_mask,
    reconstruct,
    toggle_patch,
    unpatchify,
)
from cvviz.transfer.data import bundled_shapes

ROOT = Path(__file__).resolve().parent.parent

CAT = str(sample_images()[0].path)
TINY = VitShape(patch_size=8, hidden=16, depth=2, heads=2, image_size=32)
SOURCE_GRID = 6  # the tiny DINOv2 checkpoint's position embeddings, as the real one's 37×37 for 518 px


def tiny_dino(name: str = "dino_tiny", title: str = "DINO tiny", paper: str = "dino", **kwargs):
    """A two-block ViT entry of the DINO family (4×4 patches of 8 px), its checkpoint at a made-up URL."""
    return dino_spec(
        name,
        title,
        paper,
        f"https://example.invalid/ssl/{name}.pth",
        patch_size=TINY.patch_size,
        hidden_dim=TINY.hidden,
        depth=TINY.depth,
        heads=TINY.heads,
        image_size=TINY.image_size,
        resize_size=TINY.image_size,
        **kwargs,
    )


def tiny_mae(name: str = "mae_tiny"):
    return mae_spec(
        name,
        "MAE tiny",
        f"https://example.invalid/ssl/{name}.pth",
        encoder=TINY,
        decoder=VitShape(patch_size=8, hidden=8, depth=1, heads=2, image_size=32),
    )


TINY_MAE = tiny_mae()
TINY_DINO = tiny_dino()
TINY_DINOV2 = tiny_dino("dinov2_tiny", "DINOv2 tiny", "dinov2", layer_scale=True)


@pytest.fixture
def catalog_with(monkeypatch):
    """Adds entries to the catalog for one test (the registry's own mapping, restored afterwards)."""

    def add(*specs):
        for spec in specs:
            monkeypatch.setitem(registry._loaded()[0], spec.name, spec)

    return add


# --- Masks and patches --------------------------------------------------------------------------------


@pytest.mark.parametrize(("patches", "ratio"), [(196, 0.75), (49, 0.5), (16, 0.9), (10, 0.25), (4, 0.0)])
def test_random_mask_keeps_round_share_and_seed_fixes_it(patches, ratio):
    mask = random_mask(patches, ratio, seed=3)
    assert mask.dtype == bool and mask.shape == (patches,)
    assert (~mask).sum() == max(1, round(patches * (1 - ratio))) == kept_count(patches, ratio)
    np.testing.assert_array_equal(mask, random_mask(patches, ratio, seed=3))


def test_random_mask_differs_between_seeds_and_refuses_a_full_mask():
    masks = {random_mask(196, 0.75, seed).tobytes() for seed in range(5)}
    assert len(masks) == 5
    with pytest.raises(MaskError):
        random_mask(196, 1.0)


def test_patchify_and_unpatchify_are_inverse_and_patches_are_row_major():
    images = torch.randn(2, 3, 24, 40)
    patches = patchify(images, 8)
    assert patches.shape == (2, 3 * 5, 8 * 8 * 3)
    torch.testing.assert_close(unpatchify(patches, 8, (3, 5)), images, rtol=0, atol=0)
    # Patch (row 1, col 2) is the image's pixels there, (row, col, channel) flattened.
    expected = images[0, :, 8:16, 16:24].permute(1, 2, 0).reshape(-1)
    torch.testing.assert_close(patches[0, 1 * 5 + 2], expected, rtol=0, atol=0)
    flat = torch.randn(1, 6, 4 * 4 * 3)
    torch.testing.assert_close(patchify(unpatchify(flat, 4, (2, 3)), 4), flat, rtol=0, atol=0)


def test_mae_loss_is_normalised_pixel_error_on_hidden_patches_only():
    torch.manual_seed(1)
    images = torch.randn(2, 3, 16, 16)
    predicted = torch.randn(2, 4, 8 * 8 * 3)
    mask = torch.tensor([1.0, 0.0, 1.0, 0.0])
    # The definition, patch by patch: target normalised by its own mean and unbiased std (+1e-6 on var).
    errors = []
    for n in range(2):
        for index, (row, col) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
            if mask[index]:
                pixels = (
                    images[n, :, row * 8 : row * 8 + 8, col * 8 : col * 8 + 8].permute(1, 2, 0).reshape(-1)
                )
                target = (pixels - pixels.mean()) / math.sqrt(float(pixels.var()) + 1e-6)
                errors.append(((predicted[n, index] - target) ** 2).mean())
    torch.testing.assert_close(mae_loss(images, predicted, mask, 8), torch.stack(errors).mean())
    # Visible patches do not count: changing their prediction leaves the loss alone.
    changed = predicted.clone()
    changed[:, [1, 3]] += 5.0
    torch.testing.assert_close(mae_loss(images, changed, mask, 8), mae_loss(images, predicted, mask, 8))


# --- Checkpoints in the authors' layout ---------------------------------------------------------------


def _block_keys(prefix: str, depth: int) -> list[str]:
    parts = ["norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2"]
    return [
        f"{prefix}.{i}.{part}.{kind}" for i in range(depth) for part in parts for kind in ("weight", "bias")
    ]


MAE_KEYS = {
    "cls_token",
    "pos_embed",
    "patch_embed.proj.weight",
    "patch_embed.proj.bias",
    *_block_keys("blocks", 2),
    "norm.weight",
    "norm.bias",
    "mask_token",
    "decoder_pos_embed",
    "decoder_embed.weight",
    "decoder_embed.bias",
    *_block_keys("decoder_blocks", 1),
    "decoder_norm.weight",
    "decoder_norm.bias",
    "decoder_pred.weight",
    "decoder_pred.bias",
}


@pytest.fixture(scope="module")
def mae_file(tmp_path_factory):
    """A tiny MAE checkpoint as the authors save it: ``{"model": state_dict}``, their key names."""
    torch.manual_seed(0)
    model = build_architecture(TINY_MAE)
    state = {key: value + 0.01 * torch.randn_like(value) for key, value in model.state_dict().items()}
    assert set(state) == MAE_KEYS
    path = tmp_path_factory.mktemp("mae") / "mae_tiny.pth"
    torch.save({"model": state, "args": {"norm_pix_loss": False}}, path)
    return path


def _timm_vit_state(
    shape: VitShape, generator: torch.Generator, layer_scale: bool = False, grid: int | None = None
) -> dict[str, torch.Tensor]:
    """A ViT checkpoint of ``shape`` written by hand in the authors' (timm's) layout, random values; with
    ``layer_scale`` as DINOv2 publishes it (``ls1``/``ls2`` gammas, ``mask_token``, and position
    embeddings for a ``grid``×``grid`` patch grid)."""
    d, tokens = shape.hidden, (grid or shape.grid) ** 2 + 1

    def rand(*size):
        return torch.randn(*size, generator=generator) * 0.2

    state = {
        "cls_token": rand(1, 1, d),
        "pos_embed": rand(1, tokens, d),
        "patch_embed.proj.weight": rand(d, 3, shape.patch_size, shape.patch_size),
        "patch_embed.proj.bias": rand(d),
        "norm.weight": 1 + rand(d),
        "norm.bias": rand(d),
    }
    if layer_scale:
        state["mask_token"] = rand(1, d)
    for i in range(shape.depth):
        block = f"blocks.{i}"
        state.update(
            {
                f"{block}.norm1.weight": 1 + rand(d),
                f"{block}.norm1.bias": rand(d),
                f"{block}.attn.qkv.weight": rand(3 * d, d),
                f"{block}.attn.qkv.bias": rand(3 * d),
                f"{block}.attn.proj.weight": rand(d, d),
                f"{block}.attn.proj.bias": rand(d),
                f"{block}.norm2.weight": 1 + rand(d),
                f"{block}.norm2.bias": rand(d),
                f"{block}.mlp.fc1.weight": rand(4 * d, d),
                f"{block}.mlp.fc1.bias": rand(4 * d),
                f"{block}.mlp.fc2.weight": rand(d, 4 * d),
                f"{block}.mlp.fc2.bias": rand(d),
            }
        )
        if layer_scale:  # far from 1, so that a block without layer scale computes something else
            state[f"{block}.ls1.gamma"] = 0.5 + rand(d)
            state[f"{block}.ls2.gamma"] = 0.5 + rand(d)
    return state


def _timm_vit_forward(
    state: dict, shape: VitShape, images: torch.Tensor, position: torch.Tensor | None = None
) -> torch.Tensor:
    """The authors' ViT forward written out from its definition (layer scale where the state has it):
    the normalised [CLS] token, (N, D). ``position`` replaces the state's position embeddings."""
    d, heads = shape.hidden, shape.heads
    ln = torch.nn.functional.layer_norm
    x = torch.nn.functional.conv2d(
        images, state["patch_embed.proj.weight"], state["patch_embed.proj.bias"], stride=shape.patch_size
    )
    x = x.flatten(2).transpose(1, 2)
    position = state["pos_embed"] if position is None else position
    x = torch.cat([state["cls_token"].expand(len(x), -1, -1), x], dim=1) + position
    for i in range(shape.depth):
        p = f"blocks.{i}."
        gamma1 = state.get(p + "ls1.gamma", torch.ones(d))
        gamma2 = state.get(p + "ls2.gamma", torch.ones(d))
        h = ln(x, (d,), state[p + "norm1.weight"], state[p + "norm1.bias"], eps=1e-6)
        n, t, _ = h.shape
        qkv = (h @ state[p + "attn.qkv.weight"].T + state[p + "attn.qkv.bias"]).reshape(
            n, t, 3, heads, d // heads
        )
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attn = ((q @ k.transpose(-2, -1)) * (d // heads) ** -0.5).softmax(-1)
        h = (attn @ v).transpose(1, 2).reshape(n, t, d)
        x = x + gamma1 * (h @ state[p + "attn.proj.weight"].T + state[p + "attn.proj.bias"])
        h = ln(x, (d,), state[p + "norm2.weight"], state[p + "norm2.bias"], eps=1e-6)
        h = torch.nn.functional.gelu(h @ state[p + "mlp.fc1.weight"].T + state[p + "mlp.fc1.bias"])
        x = x + gamma2 * (h @ state[p + "mlp.fc2.weight"].T + state[p + "mlp.fc2.bias"])
    return ln(x, (d,), state["norm.weight"], state["norm.bias"], eps=1e-6)[:, 0]


def _load(spec, path) -> nn.Module:
    """The entry's model with the checkpoint file at ``path`` (the user-file path of the weights
    mechanism: ``weights_only`` loading, the family's renaming, keys and shapes checked)."""
    return build_model(spec, "user", user_weights=str(path))[0]


@pytest.fixture(scope="module")
def dino_state():
    return _timm_vit_state(TINY, torch.Generator().manual_seed(7))


@pytest.fixture(scope="module")
def dino_file(dino_state, tmp_path_factory):
    path = tmp_path_factory.mktemp("dino") / "dino_tiny.pth"
    torch.save(dino_state, path)
    return path


@pytest.fixture(scope="module")
def dino_model(dino_file):
    return _load(TINY_DINO, dino_file)


@pytest.fixture(scope="module")
def dinov2_state():
    return _timm_vit_state(TINY, torch.Generator().manual_seed(11), layer_scale=True, grid=SOURCE_GRID)


@pytest.fixture(scope="module")
def dinov2_file(dinov2_state, tmp_path_factory):
    path = tmp_path_factory.mktemp("dinov2") / "dinov2_tiny.pth"
    torch.save(dinov2_state, path)
    return path


@pytest.fixture(scope="module")
def dinov2_model(dinov2_file):
    return _load(TINY_DINOV2, dinov2_file)


def test_dino_checkpoint_renamed_onto_torchvision_vit_computes_the_same_features(dino_state, dino_model):
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(
            dino_model(images), _timm_vit_forward(dino_state, TINY, images), rtol=1e-4, atol=1e-5
        )


def test_dino_checkpoint_with_a_wrong_shape_is_one_sentence(dino_state, tmp_path):
    state = dict(dino_state)
    state["blocks.1.attn.qkv.weight"] = torch.zeros(3, 16)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(WeightsMismatchError, match=r"encoder_layer_1\.self_attention\.in_proj_weight"):
        _load(TINY_DINO, path)


def test_layer_scale_block_is_the_hand_computed_residual_with_gammas():
    torch.manual_seed(3)
    block = LayerScaleEncoderBlock(num_heads=2, hidden_dim=8, mlp_dim=16).eval()
    with torch.no_grad():
        for parameter in block.parameters():
            parameter.normal_(0.0, 0.3)
    x = torch.randn(2, 5, 8)
    with torch.no_grad():
        h = block.ln_1(x)
        attended = block.self_attention(h, h, h, need_weights=False)[0]
        y = x + block.ls1.gamma * attended
        expected = y + block.ls2.gamma * block.mlp(block.ln_2(y))
        torch.testing.assert_close(block(x), expected)
        # With every gamma 1 it is torchvision's block (same modules, no scale).
        block.ls1.gamma.fill_(1.0)
        block.ls2.gamma.fill_(1.0)
        torch.testing.assert_close(block(x), tvm.vision_transformer.EncoderBlock.forward(block, x))


def test_dinov2_checkpoint_loads_with_layer_scale_and_interpolated_positions(dinov2_state, dinov2_model):
    # The 6×6 published grid resampled to the entry's 4×4 as DINOv2 does: bicubic, scale (4 + 0.1) / 6.
    patches = dinov2_state["pos_embed"][:, 1:].reshape(1, SOURCE_GRID, SOURCE_GRID, -1).permute(0, 3, 1, 2)
    resized = torch.nn.functional.interpolate(patches, scale_factor=4.1 / 6, mode="bicubic")
    assert resized.shape[-2:] == (4, 4)
    position = torch.cat([dinov2_state["pos_embed"][:, :1], resized.flatten(2).transpose(1, 2)], dim=1)
    torch.testing.assert_close(dinov2_model.encoder.pos_embedding, position)
    assert interpolate_position_embedding(position, 4) is position  # already fitting: unchanged
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        output = dinov2_model(images)
        expected = _timm_vit_forward(dinov2_state, TINY, images, position)
        torch.testing.assert_close(output, expected, rtol=1e-4, atol=1e-5)
        no_scale = {k: v for k, v in dinov2_state.items() if ".ls" not in k}
        assert not torch.allclose(output, _timm_vit_forward(no_scale, TINY, images, position), atol=1e-3)


@pytest.mark.parametrize("which", ["dino", "dinov2"])
def test_dino_attention_rows_sum_to_one_and_rebuild_every_block_output(which, request, cat_image):
    spec = TINY_DINO if which == "dino" else TINY_DINOV2
    model = request.getfixturevalue(f"{which}_model")
    names = spec.attention_layers
    modules = dict(model.named_modules())
    batch = preprocess(cat_image, spec)
    with (
        torch.no_grad(),
        capture_attention_inputs(model, names) as inputs,
        capture_outputs(model, names) as outs,
    ):
        model(batch)
    for name in names:
        probs = mha_attention_probs(modules[name], inputs[name])
        torch.testing.assert_close(probs.sum(-1), torch.ones(probs.shape[:-1]))
        torch.testing.assert_close(
            mha_output_from_probs(modules[name], inputs[name], probs), outs[name], rtol=1e-4, atol=1e-5
        )
    attention = last_layer_class_attention(spec, model, batch)
    assert attention.attention.shape == (2, 16) and attention.grid == (4, 4)
    np.testing.assert_allclose(attention.attention.sum(-1) + attention.to_class, 1.0, rtol=1e-5)
    assert count_hooks(model) == 0


def test_mass_mask_keeps_the_fewest_largest_patches_holding_the_share():
    weights = np.array([[0.1, 0.5, 0.2, 0.2], [0.25, 0.25, 0.25, 0.25]])
    np.testing.assert_array_equal(
        mass_mask(weights, 0.6), [[False, True, True, False], [True, True, True, False]]
    )
    rng = np.random.default_rng(0)
    rows = rng.dirichlet(np.ones(50) * 0.3, size=20)
    for keep in (0.3, 0.6, 0.9):
        masks = mass_mask(rows, keep)
        for row, mask in zip(rows, masks):
            assert row[mask].sum() >= keep - 1e-9
            assert row[mask].sum() - row[mask].min() < keep  # dropping the weakest kept patch falls short
            assert row[mask].min() >= row[~mask].max(initial=0)


def test_mae_checkpoint_in_authors_layout_reconstructs_with_visible_patches_pasted_back(mae_file, cat_image):
    model = _load(TINY_MAE, mae_file)
    spec = TINY_MAE
    batch = preprocess(cat_image, spec)
    mask = random_mask(16, 0.75, seed=4)
    result = reconstruct(model, batch, mask, spec.preprocessing.mean, spec.preprocessing.std)
    assert result.original.shape == result.reconstruction.shape == result.pasted.shape == (32, 32, 3)
    assert result.mask.sum() == 12 and result.error.shape == (4, 4)
    cells = np.repeat(np.repeat(result.mask, 8, axis=0), 8, axis=1)
    np.testing.assert_allclose(result.pasted[~cells], result.original[~cells], atol=1e-5)
    np.testing.assert_allclose(result.pasted[cells], result.reconstruction[cells], atol=1e-6)
    assert np.all(result.masked[cells] == 0.5)
    assert result.loss == pytest.approx(float(result.error[result.mask].mean()), rel=1e-5)
    # The decoder sees only the visible patches: the prediction does not depend on hidden pixels.
    scrambled = batch.clone()
    hidden = torch.from_numpy(cells)
    scrambled[0][:, hidden] = torch.randn(3, int(hidden.sum()))
    with torch.no_grad():
        torch.testing.assert_close(
            model(scrambled, torch.from_numpy(mask)), model(batch, torch.from_numpy(mask))
        )


# --- The catalog --------------------------------------------------------------------------------------

SELF_SUPERVISED_NAMES = {
    "dino_vits16",
    "dino_vits8",
    "dino_vitb16",
    "dinov2_vits14",
    "deit_s16",
    "mae_vitb16",
}


def test_self_supervised_models_are_catalog_entries_of_their_own_task():
    entries = list_self_supervised()
    assert {spec.name for spec in entries} == SELF_SUPERVISED_NAMES
    assert not SELF_SUPERVISED_NAMES & {spec.name for spec in list_models()}  # no classifier view offers them
    assert {spec.name for spec in list_models(task=None)} >= SELF_SUPERVISED_NAMES
    for spec in entries:
        assert get_spec(spec.name, task=SELF_SUPERVISED) is spec
        assert spec.pretraining in PRETRAINING_LABELS and spec.pretrained_available
        assert spec.checkpoint.url.startswith("https://dl.fbaipublicfiles.com/")
        assert spec.weights_name == spec.checkpoint.filename
        with pytest.raises(UnknownModelError, match="self-supervised features model, not a classification"):
            get_spec(spec.name, task="classification")
    assert [spec.name for spec in list_self_supervised("mae")] == ["mae_vitb16"]
    assert [spec.name for spec in list_self_supervised("supervised")] == ["deit_s16"]
    # Each self-supervised ViT is compared with a supervised ViT of the same width and depth.
    for spec in list_self_supervised("dino"):
        twin = get_spec(get_family(spec).supervised_twin(spec))
        assert twin.pretraining == "supervised" and twin.num_classes == 1000
        ours, theirs = build_on_meta(spec), build_on_meta(twin)
        assert (ours.hidden_dim, len(ours.encoder.layers)) == (theirs.hidden_dim, len(theirs.encoder.layers))
        assert all(name in dict(ours.named_modules()) for name in spec.attention_layers)
    dinov2 = build_on_meta(get_spec("dinov2_vits14"))
    assert dinov2.encoder.pos_embedding.shape == (1, 16 * 16 + 1, 384)  # 224 px in 14-px patches
    assert all(isinstance(block, LayerScaleEncoderBlock) for block in dinov2.encoder.layers)


def test_weights_list_reads_the_catalog_with_the_self_supervised_checkpoints(torch_home, capsys):
    rows = {row.model: row for row in list_cached_weights()}
    for name in SELF_SUPERVISED_NAMES:
        assert rows[name].filename == get_spec(name).checkpoint.filename and not rows[name].cached
    assert main(["weights", "list", "--json"]) == 0
    assert {row["model"] for row in json.loads(capsys.readouterr().out)} >= SELF_SUPERVISED_NAMES


# --- Weights mechanism and CLI ------------------------------------------------------------------------


def test_published_checkpoint_downloads_through_the_mirror_into_the_hub_cache_then_works_offline(
    dinov2_file, file_server, torch_home, monkeypatch, catalog_with
):
    catalog_with(TINY_DINOV2)
    root, base = file_server
    (root / "dinov2_tiny.pth").write_bytes(dinov2_file.read_bytes())
    monkeypatch.setenv("CVVIZ_WEIGHTS_MIRROR", base)
    assert main(["weights", "fetch", "dinov2_tiny"]) == 0
    assert (torch_home / "hub" / "checkpoints" / "dinov2_tiny.pth").is_file()
    monkeypatch.setenv("CVVIZ_OFFLINE", "1")
    loaded = Workbench().get("dinov2_tiny")
    assert loaded.trained and loaded.weights.description == "dinov2_tiny.pth"
    out = torch_home / "attn.npz"
    assert main(["dino", CAT, "--model", "dinov2_tiny", "--out", str(out)]) == 0
    saved = np.load(out)
    assert saved["attention"].shape == (2, 16)
    np.testing.assert_allclose(saved["attention"].sum(-1) + saved["to_class"], 1.0, rtol=1e-5)
    assert saved["mask"].shape == (2, 16) and saved["mask"].any(axis=1).all()
    # The attention command takes it too: every layer, each row of the full map summing to 1.
    assert main(["attention", CAT, "--model", "dinov2_tiny", "--out", str(out)]) == 0
    every = np.load(out)["attn"]
    assert every.shape == (2, 2, 17, 17)  # layers, heads, tokens, tokens
    np.testing.assert_allclose(every.sum(-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("command", ["mae", "dino"])
def test_cli_without_weights_offline_is_one_error_line_saying_how_to_fetch(
    command, torch_home, monkeypatch, capsys
):
    monkeypatch.setenv("CVVIZ_OFFLINE", "1")
    assert main([command, CAT, "--out", str(torch_home / "x.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    name = "mae_vitb16" if command == "mae" else "dino_vits16"
    assert len(err) == 1 and err[0].startswith("error:") and f"weights fetch {name}" in err[0]
    assert not (torch_home / "x.npz").exists()
    with pytest.raises(WeightsError):
        download_weights(get_spec(name))
    # A model the command cannot show is one line too: MAE for dino, a classifier for either.
    other = "resnet18" if command == "mae" else "mae_vitb16"
    assert main([command, CAT, "--model", other, "--out", str(torch_home / "x.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")


def test_cli_mae_writes_mask_reconstruction_and_error(mae_file, tmp_path, catalog_with, capsys):
    catalog_with(TINY_MAE)
    out = tmp_path / "mae.npz"
    args = [
        "mae",
        CAT,
        "--model",
        "mae_tiny",
        "--weights",
        str(mae_file),
        "--mask-ratio",
        "0.5",
        "--seed",
        "2",
    ]
    assert main([*args, "--out", str(out)]) == 0
    saved = np.load(out)
    assert saved["mask"].shape == (4, 4) and saved["mask"].sum() == 8
    np.testing.assert_array_equal(saved["mask"].reshape(-1), random_mask(16, 0.5, seed=2))
    assert saved["reconstruction"].shape == (32, 32, 3) and saved["error"].shape == (4, 4)
    assert float(saved["loss"]) == pytest.approx(float(saved["error"][saved["mask"] == 1].mean()), rel=1e-5)


def test_painting_toggles_one_patch_and_keeps_one_visible():
    mask = np.zeros((2, 2), dtype=bool)
    once = toggle_patch(mask, (0, 1))
    assert once.sum() == 1 and once[0, 1] and not mask.any()
    np.testing.assert_array_equal(toggle_patch(once, (0, 1)), mask)
    almost = np.array([[True, True], [True, False]])
    np.testing.assert_array_equal(toggle_patch(almost, (1, 1)), almost)


# --- The page -----------------------------------------------------------------------------------------

PAGE_MODELS = (
    tiny_mae("mae_vitb16"),
    tiny_dino("dino_vits16"),
    tiny_dino("deit_s16", "DeiT tiny", "deit", pretraining="supervised"),
)


def _page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240).run()
    return at.switch_page("app_pages/self_supervised.py").run()


def _kiosk_links() -> list[str]:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240).run()
    assert not at.exception, [e.value for e in at.exception]
    return [link.proto.page for link in at.get("page_link")]


def test_without_weights_the_page_says_how_to_fetch_them_and_a_kiosk_leaves_it_out(torch_home, monkeypatch):
    at = _page()
    assert not at.exception, [e.value for e in at.exception]
    infos = " ".join(info.value for info in at.info)
    assert "weights fetch mae_vitb16" in infos and "weights fetch dino_vits16" in infos
    assert any("weights fetch" in code.value for code in at.code)
    assert not at.get("plotly_chart")
    monkeypatch.setenv("CVVIZ_KIOSK", "1")  # a kiosk never downloads: without weights, no such page
    monkeypatch.setenv("CVVIZ_KIOSK_CAMERA", "0")
    links = _kiosk_links()
    assert "training" in links and "self_supervised" not in links


@pytest.fixture
def cached_page_models(torch_home, monkeypatch, mae_file, dino_file, catalog_with):
    """The page's model names bound to tiny catalog entries whose checkpoints are in the hub cache."""
    monkeypatch.setenv("CVVIZ_OFFLINE", "1")
    catalog_with(*PAGE_MODELS)
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    for spec, source in zip(PAGE_MODELS, (mae_file, dino_file, dino_file)):
        (folder / spec.checkpoint.filename).write_bytes(source.read_bytes())


def test_page_with_weights_draws_mae_and_dino_beside_the_supervised_twin(cached_page_models, monkeypatch):
    from ui.resources import workbench

    at = _page()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    keys = {chart.proto.id for chart in at.get("plotly_chart")}
    assert len(at.get("plotly_chart")) >= 7, keys
    # Its models are the workbench's, counted in the shared memory budget like every other.
    cached = workbench().stats().cached
    for spec in PAGE_MODELS:
        assert any(label.startswith(f"{spec.name}/pretrained/") for label in cached), cached
    at.slider(key="self_supervised.mae.ratio").set_value(0.5).run()
    assert any("8 of 16 patches hidden" in chart.proto.spec for chart in at.get("plotly_chart"))
    # Painting starts from the random mask and offers the image as a grid of clickable patches.
    at.radio(key="self_supervised.mae.mode").set_value("paint").run()
    assert not at.exception, [e.value for e in at.exception]
    charts = at.get("plotly_chart")
    assert any("8 of 16 patches hidden" in chart.proto.spec for chart in charts)
    assert any(
        chart.proto.id.endswith("self_supervised.mae.pick") and '"pick"' in chart.proto.spec
        for chart in charts
    )
    monkeypatch.setenv("CVVIZ_KIOSK", "1")  # with the weights pre-fetched a kiosk offers the page
    monkeypatch.setenv("CVVIZ_KIOSK_CAMERA", "0")
    assert "self_supervised" in _kiosk_links()


def test_attention_page_shows_a_dino_model_in_place_of_the_sidebars(cached_page_models):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240).run()
    at = at.switch_page("app_pages/attention.py").run()
    assert any("convolutional network" in info.value for info in at.info)  # the default model is a CNN
    choice = at.selectbox(key="attention.source")
    assert {"DINO tiny (self-supervised, no labels)", "DINOv2 ViT-S/14 (self-supervised, no labels)"} <= set(
        choice.options
    )
    choice.set_value("dino_vits16").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("2 layers × 2 heads; 4×4 patches" in text.value for text in at.markdown)
    assert not at.get("toggle")  # no classifier, so no class-specific rollout
    assert at.get("plotly_chart")


# --- k-NN ---------------------------------------------------------------------------------------------


def test_knn_scores_are_the_papers_weighted_vote():
    memory = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0], [-1.0, 0.0]])
    labels = np.array([0, 1, 1, 0])
    query = np.array([[2.0, 1.0]])
    scores = knn_scores(memory, labels, query, 2, k=2, temperature=0.5)
    # The two most similar are [3, 3] (class 1) and [1, 0] (class 0); each votes exp(cosine / T).
    cos_a, cos_b = 3 / math.sqrt(10), 2 / math.sqrt(5)
    np.testing.assert_allclose(scores, [[math.exp(cos_b / 0.5), math.exp(cos_a / 0.5)]])


def test_leave_one_out_never_lets_an_image_vote_for_itself():
    rng = np.random.default_rng(0)
    centres = np.array([[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0]])
    labels = np.repeat(np.arange(3), 6)
    features = centres[labels] + rng.normal(size=(18, 3))
    np.testing.assert_array_equal(leave_one_out(features, labels, 3, k=5), labels)
    # Pairs of nearly equal features with different labels: with itself excluded, each image's nearest
    # neighbour is its twin of the other class, so 1-NN gets every one wrong.
    twins = np.repeat(rng.normal(size=(4, 3)) * 5, 2, axis=0) + rng.normal(size=(8, 3)) * 1e-3
    alternating = np.tile([0, 1], 4)
    assert (leave_one_out(twins, alternating, 2, k=1) != alternating).all()


def test_knn_job_reads_the_class_token_of_each_backbone(dino_model):
    data = bundled_shapes(per_class=3, size=32)
    info = WeightsInfo("pretrained", "tiny", "pretrained:tiny")
    loaded = LoadedModel(TINY_DINO, dino_model, info, torch.device("cpu"), 0)
    cache = ResultCache()
    results = knn_job([loaded], data, cache).run()
    assert len(results) == 1 and results[0].k == 11 and results[0].feature_dim == TINY.hidden
    batch = torch.cat([preprocess(image, TINY_DINO) for image in data.images])
    with torch.no_grad():
        expected = leave_one_out(dino_model(batch).numpy(), data.labels, len(data.classes))
    np.testing.assert_array_equal(results[0].predictions, expected)
    assert 0.0 <= results[0].accuracy <= 1.0 and results[0].pretraining == "dino"


@pytest.mark.parametrize("name", ["dinov2_vits14", "deit_s16"])
def test_published_key_layout_maps_exactly_onto_the_full_size_entry(name):
    """The authors' keys and shapes at full size (DINOv2: 37×37 positions for 518 px and ``mask_token``;
    DeiT: its ImageNet head), on the meta device, become exactly the entry's state_dict."""
    spec = get_spec(name)
    d, depth, patch = 384, 12, spec.architecture_kwargs["patch_size"]
    grid = 37 if name == "dinov2_vits14" else 14
    shapes = {
        "cls_token": (1, 1, d),
        "pos_embed": (1, grid * grid + 1, d),
        "patch_embed.proj.weight": (d, 3, patch, patch),
        "patch_embed.proj.bias": (d,),
        "norm.weight": (d,),
        "norm.bias": (d,),
    }
    parts = {"norm1": (d,), "norm2": (d,), "attn.qkv": (3 * d, d), "attn.proj": (d, d)}
    parts |= {"mlp.fc1": (4 * d, d), "mlp.fc2": (d, 4 * d)}
    for i in range(depth):
        for part, shape in parts.items():
            shapes[f"blocks.{i}.{part}.weight"] = shape
            shapes[f"blocks.{i}.{part}.bias"] = (shape[0],)
        if name == "dinov2_vits14":
            shapes[f"blocks.{i}.ls1.gamma"] = shapes[f"blocks.{i}.ls2.gamma"] = (d,)
    if name == "dinov2_vits14":
        shapes["mask_token"] = (1, d)
    else:
        shapes |= {"head.weight": (1000, d), "head.bias": (1000,)}
    published = {key: torch.empty(shape, device="meta") for key, shape in shapes.items()}
    adapted = spec.checkpoint.adapt(published)
    expected = build_on_meta(spec).state_dict()
    assert {k: tuple(v.shape) for k, v in adapted.items()} == {k: tuple(v.shape) for k, v in expected.items()}
