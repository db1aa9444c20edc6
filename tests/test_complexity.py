"""Per-layer parameters and MACs add up to the whole-model totals, and match known answers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from torch import nn

from cvviz.catalog import get_spec
from cvviz.hooks import count_hooks
from cvviz.measure.complexity import complexity_for_spec, measure_complexity
from cvviz.models.build import build_on_meta

ROOT = Path(__file__).resolve().parent.parent


def test_conv_and_linear_macs_are_known_by_hand():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    result = measure_complexity(model, (1, 3, 4, 4))
    by_name = {row.name: row for row in result.layers}
    assert by_name["0"].macs == 8 * 4 * 4 * 3 * 3 * 3  # outputs × (in-channels × k × k)
    assert by_name["3"].macs == 128 * 10
    assert by_name["1"].macs == 0 and by_name["0"].output_shape == (1, 8, 4, 4)
    assert result.macs == 3456 + 1280 and result.flops == 2 * result.macs
    assert count_hooks(model) == 0


@pytest.mark.parametrize("name", ["resnet50", "inception_v3", "vit_b_16", "swin_t", "efficientnet_lite0"])
def test_layer_rows_sum_to_the_model_totals(name):
    result = complexity_for_spec(get_spec(name))
    assert (
        sum(row.params for row in result.layers)
        == result.params
        == sum(p.numel() for p in build_on_meta(get_spec(name)).parameters())
    )
    assert sum(row.macs for row in result.layers) == result.macs


@pytest.mark.parametrize("name", ["resnet50", "inception_v3", "vit_b_16", "swin_t", "mobilenet_v3_large"])
def test_macs_equal_torchvision_published_ops(name):
    spec = get_spec(name)
    published_gmacs = spec.torchvision_weights.meta["_ops"]  # labelled GFLOPS in the docs, but GMACs
    assert complexity_for_spec(spec).macs / 1e9 == pytest.approx(published_gmacs, abs=5e-4)


def test_vit_counts_its_attention_matmuls():
    result = complexity_for_spec(get_spec("vit_b_16"))
    attention = {row.name: row for row in result.layers}["encoder.layers.encoder_layer_0.self_attention"]
    tokens, width = 197, 768
    projections = tokens * width * 3 * width  # q, k, v in one in_proj
    scores_and_mix = 2 * tokens * tokens * width  # QK^T and attn @ V over all heads
    output = tokens * width * width  # out_proj, applied functionally inside the attention module
    assert attention.macs == projections + scores_and_mix + output


def test_counting_on_meta_needs_no_memory():
    """ViT-H/14 holds 632M parameters (2.5 GB in fp32); counting it on meta must not allocate them."""
    script = (
        "import resource, torch\n"
        "from cvviz.catalog import get_spec\n"
        "from cvviz.measure.complexity import complexity_for_spec\n"
        "spec = get_spec('vit_h_14')\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "result = complexity_for_spec(spec)\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(result.params, (after - before) * 1024, torch.cuda.is_initialized())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    params, grown, cuda = done.stdout.split()
    assert int(params) > 600e6
    assert int(grown) < 0.1 * 4 * int(params), (
        f"counting grew the peak memory by {int(grown) / 2**20:.0f} MiB"
    )
    assert cuda == "False"
