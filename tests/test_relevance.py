"""Transformer relevance (Chefer et al. 2021) beside attention rollout, and CAMs that stop part-way.

The relevance recursion is checked against rollout by hand, on a tiny ViT's real attention; the map must
follow the class and the model's weights (rollout, reading neither, must not); nothing stays hooked.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from cvviz.catalog import get_spec
from cvviz.explain.attention import vit_attention
from cvviz.explain.attention.rollout import attention_rollout, gradient_rollout
from cvviz.explain.saliency import METHODS, SaliencyError, SaliencyOptions, attribute, private_copy
from cvviz.explain.saliency.faithfulness import perturbation_curve
from cvviz.explain.saliency.sanity import cascading_randomisation
from cvviz.hooks import count_hooks
from cvviz.jobs import Cancelled, Job

LAYERS = tuple(f"encoder.layers.encoder_layer_{i}.self_attention" for i in range(3))
TRANSFORMER_METHODS = ("attention_rollout", "transformer_relevance")


@pytest.fixture(scope="module")
def tiny_vit():
    """A 3-layer ViT on 32×32 inputs (16 patches + the class token), with a catalog spec that matches it."""
    torch.manual_seed(0)
    model = torchvision.models.VisionTransformer(
        image_size=32, patch_size=8, num_layers=3, num_heads=2, hidden_dim=16, mlp_dim=32, num_classes=6
    )
    nn.init.normal_(model.heads.head.weight, std=0.5)  # torchvision zero-initialises the head
    spec = dataclasses.replace(
        get_spec("vit_b_32"), stages=("encoder.layers.encoder_layer_2",), attention_layers=LAYERS
    )
    return model.eval().requires_grad_(False), spec, torch.randn(1, 3, 32, 32)


def test_relevance_with_unit_gradients_is_rollout_computed_by_hand(tiny_vit):
    model, _, x = tiny_vit
    attn = vit_attention(model, x, LAYERS).attn.astype(np.float64)  # (3, 2, 17, 17), rows sum to 1
    ones = np.ones_like(attn)
    by_hand = np.eye(17)
    for layer in attn:
        by_hand = (np.eye(17) + layer.mean(axis=0)) @ by_hand  # R ← R + Ā·R with Ā = mean_h(A)
    np.testing.assert_allclose(gradient_rollout(attn, ones, clamp=False), by_hand, rtol=1e-12)
    # Rollout's ½A + ½I has rows summing to 1 already, so it is the same product scaled by 2⁻ᴸ.
    # (float32 probabilities: their rows sum to 1 within 1e-7, which rollout's renormalisation rounds.)
    np.testing.assert_allclose(attention_rollout(attn, "mean", 0.0) * 2**3, by_hand, rtol=1e-6)
    # Clamping keeps only positive evidence: with gradients of −1 nothing is added, R stays I.
    np.testing.assert_array_equal(gradient_rollout(attn, -ones), np.eye(17))


def test_relevance_follows_the_class_and_rollout_does_not(tiny_vit):
    model, spec, x = tiny_vit
    private = private_copy(model, spec)
    relevance = [attribute(private, spec, x, "transformer_relevance", t).map for t in (0, 3)]
    rollout = [attribute(private, spec, x, "attention_rollout", t).map for t in (0, 3)]
    assert relevance[0].shape == (32, 32)
    assert np.abs(relevance[0] - relevance[1]).max() > 0.1 * np.abs(relevance[0]).max()
    np.testing.assert_array_equal(rollout[0], rollout[1])
    assert count_hooks(private.model) == 0 and count_hooks(model) == 0


def test_relevance_changes_when_the_weights_are_randomised_and_rollout_ignores_the_head(tiny_vit):
    model, spec, x = tiny_vit
    relevance = cascading_randomisation(model, spec, x, "transformer_relevance", 2)
    rollout = cascading_randomisation(model, spec, x, "attention_rollout", 2)
    assert [step.name for step in relevance.steps][:2] == ["original", "head"]
    assert relevance.steps[1].spearman < 0.95  # a new head: new gradients, a new map
    assert rollout.steps[1].spearman == pytest.approx(1.0)  # rollout never reads the head
    assert min(step.spearman for step in rollout.steps[2:]) < 0.95  # but it does read the attention
    assert count_hooks(model) == 0


def test_relevance_hooks_are_removed_on_error_and_other_models_are_refused(tiny_vit):
    model, spec, x = tiny_vit
    private = private_copy(model, spec)
    with pytest.raises(SaliencyError, match="out of range"):
        attribute(private, spec, x, "transformer_relevance", 6)
    assert count_hooks(private.model) == 0
    for name in ("swin_t", "resnet18"):
        assert not any(METHODS[m].applies_to(get_spec(name)) for m in TRANSFORMER_METHODS)
        with pytest.raises(SaliencyError, match="CAM family"):
            attribute(model, get_spec(name), x, "transformer_relevance", 0)


def test_relevance_and_rollout_feed_the_deletion_curve(tiny_vit):
    model, spec, x = tiny_vit
    for method in TRANSFORMER_METHODS:
        attr_map = attribute(model, spec, x, method, 1).map
        curve = perturbation_curve(model, spec, x, attr_map, 1, "deletion", steps=4)
        assert curve.probs.shape == (5,) and 0.0 <= curve.auc <= 1.0


class _Wide(nn.Module):
    """A tiny CNN whose CAM layer has 96 channels: three batches of 32 for Score- and Ablation-CAM."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 96, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(96, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.relu(self.conv(x))).flatten(1))


@pytest.mark.parametrize("method", ["score_cam", "ablation_cam"])
def test_per_channel_cam_stops_after_the_first_batch_and_leaves_the_model_as_it_was(method):
    private = private_copy(_Wide().eval())
    options = SaliencyOptions(layer="conv")
    x = torch.rand(1, 3, 8, 8)
    forwards = []  # the batch size of every forward pass that ran to the end
    private.model.register_forward_hook(lambda module, args, output: forwards.append(args[0].shape[0]))
    first = METHODS[method].first_passes  # passes before the per-channel batches
    passes = first + 3
    reports: list[float] = []

    def on_update(fraction: float, message: str) -> None:
        reports.append(fraction)
        if fraction >= first / passes - 1e-9:
            job.cancel()  # reported just before the first batch: that batch runs, the next does not

    job = Job("cam", lambda reporter: attribute(private, None, x, method, 1, options, reporter=reporter))
    with pytest.raises(Cancelled):
        job.run(on_update)
    assert forwards == [1] * first + [32]
    assert reports == pytest.approx([i / passes for i in range(1, first + 1)])
    assert count_hooks(private.model) == 1  # only the counter above: the library's and cvviz's are gone
    assert isinstance(private.model.conv, nn.Conv2d)  # Ablation-CAM's stand-in layer is taken out again
    forwards.clear()
    full = Job("cam", lambda reporter: attribute(private, None, x, method, 1, options, reporter=reporter))
    done: list[float] = []
    result = full.run(lambda fraction, message: done.append(fraction))
    assert forwards == [1] * first + [32, 32, 32]
    assert done == pytest.approx([i / passes for i in range(1, passes)])
    unreported = attribute(private, None, x, method, 1, options)
    np.testing.assert_allclose(result.map, unreported.map, atol=1e-6)


def test_saliency_page_runs_score_cam_as_a_job_that_stops_on_request():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    page = Path(__file__).resolve().parent.parent / "app_pages" / "saliency.py"
    at = AppTest.from_file(str(page), default_timeout=240)
    at.session_state["saliency.methods"] = ["Score-CAM"]  # no quick map to compute first
    at.run()
    assert not at.exception and not at.error
    assert at.button(key="saliency.per_channel.start").label == "Compute Score-CAM"
    assert any("can be stopped" in c.value for c in at.caption)
    at.button(key="saliency.per_channel.start").click().run()
    job = at.session_state["saliency.per_channel.job"]["job"]
    job.cancel()  # what the progress's Stop button does
    assert job.wait(timeout=120) and job.status().state == "cancelled"
    at.run()
    assert not at.exception and not at.error
    assert any(info.value.startswith("Stopped after") for info in at.info)
    assert at.button(key="saliency.per_channel.start").label == "Compute Score-CAM"  # offered again


def test_cli_score_cam_reports_its_progress_and_writes_the_map(tmp_path, cat_image, capsys):
    from cvviz.cli import main

    image = tmp_path / "cat.png"
    cat_image.save(image)
    out = tmp_path / "score.npz"
    status = main(["saliency", str(image), "--model", "lenet5", "--method", "score_cam", "--untrained",
                   "--target", "3", "--out", str(out)])  # fmt: skip
    assert status == 0
    assert "forward pass 2 of" in capsys.readouterr().err
    data = np.load(out)
    assert data["attribution"].shape == (32, 32) and int(data["target"]) == 3
