"""Receptive fields: known answers on tiny nets, an autograd self-check on catalog CNNs, the CLI and ERF.

The self-check is the real test of correctness: for a central unit, the input pixels with a non-zero
gradient must lie inside the computed field (containment), and with the network made linear (activations
removed, max-pooling replaced by average pooling, float64) they must reach its edges (fill).
"""

from __future__ import annotations

import functools
import json

import pytest
import torch
import torch.nn.functional as F
from torch import fx, nn

from cvviz.catalog import get_family, get_spec, list_models
from cvviz.cli import main
from cvviz.explain.receptive_field import (
    LayerField,
    ReceptiveFieldError,
    average_effective_receptive_field,
    effective_receptive_field,
    receptive_field_for_spec,
    receptive_fields,
    swin_window_fields,
    unit_box,
)
from cvviz.explain.receptive_field.graph import Tracer
from cvviz.hooks import count_hooks
from cvviz.models.build import build_on_meta

# Activations (which pass the field on unchanged) that the linearised net below replaces by the identity.
ACTIVATION_MODULES = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.SELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softplus,
)
ACTIVATION_FUNCTIONS = {
    F.relu,
    F.relu_,
    torch.relu,
    torch.relu_,
    F.relu6,
    F.leaky_relu,
    F.elu,
    F.selu,
    F.gelu,
    F.silu,
    F.mish,
    F.hardswish,
    F.hardsigmoid,
    torch.sigmoid,
    F.sigmoid,
    torch.tanh,
    F.tanh,
}


def _by_layer(model: nn.Module, size: int = 32, channels: int = 3) -> dict[str, LayerField]:
    return {f.layer: f for f in receptive_fields(model, size, channels)}


# --- Known answers ---------------------------------------------------------------------------------------


def test_receptive_fields_single_conv_is_its_kernel():
    f = _by_layer(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1)))["0"]
    assert (f.size, f.stride, f.padding, f.exact) == ((3, 3), (1, 1), (1, 1), True)


def test_receptive_fields_two_stacked_3x3_see_5():
    fields = _by_layer(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3)))
    assert fields["2"].size == (5, 5) and fields["2"].padding == (0, 0)


def test_receptive_fields_stride_two_then_3x3_sees_7_with_jump_2():
    f = _by_layer(nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.Conv2d(4, 4, 3, padding=1)))["1"]
    assert (f.size, f.stride, f.padding) == ((7, 7), (2, 2), (3, 3))


def test_receptive_fields_dilation_two_3x3_sees_5():
    f = _by_layer(nn.Sequential(nn.Conv2d(3, 4, 3, dilation=2, padding="same")))["0"]
    assert (f.size, f.padding) == ((5, 5), (2, 2))


class _Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.skip = nn.Conv2d(3, 4, 1)
        self.main = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1))

    def forward(self, x):
        return F.relu(self.skip(x) + self.main(x))


class _Inception(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.b1 = nn.Conv2d(3, 2, 1)
        self.b3 = nn.Conv2d(3, 2, 3, padding=1)
        self.b5 = nn.Conv2d(3, 2, 5, padding=2)

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x)], dim=1)


class _Wrap(nn.Module):
    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, x):
        return self.block(x)


def test_receptive_fields_residual_block_is_union_of_paths():
    fields = _by_layer(_Wrap(_Residual()))
    assert fields["block.skip"].size == (1, 1)
    assert (fields["block"].size, fields["block"].padding, fields["block"].exact) == ((5, 5), (2, 2), True)


def test_receptive_fields_inception_concat_is_widest_branch():
    f = _by_layer(_Wrap(_Inception()))["block"]
    assert (f.size, f.padding) == ((5, 5), (2, 2))


def test_receptive_fields_asymmetric_kernels_differ_per_axis():
    model = nn.Sequential(nn.Conv2d(3, 4, (1, 7), padding=(0, 3)), nn.Conv2d(4, 4, (7, 1), padding=(3, 0)))
    fields = _by_layer(model)
    assert fields["0"].size == (1, 7) and fields["0"].padding == (0, 3)
    assert fields["1"].size == (7, 7)
    asym = _by_layer(nn.Sequential(nn.Conv2d(3, 4, (3, 5), stride=(1, 2))))["0"]
    assert (asym.size, asym.stride) == ((3, 5), (1, 2))


def test_receptive_fields_maxpool_ceil_mode_keeps_field_and_notes_it():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(2, 2, ceil_mode=True))
    f = _by_layer(model, size=9)["1"]
    assert (f.size, f.stride, f.exact, f.output_size) == ((4, 4), (2, 2), True, (4, 4))
    assert "ceil_mode" in f.note


def test_receptive_fields_global_pool_is_whole_image_and_inexact():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1))
    f = _by_layer(model, size=20)["1"]
    assert (f.size, f.exact, f.global_context) == ((20, 20), False, True)
    assert "global" in f.note


def test_receptive_fields_channel_shuffle_keeps_spatial_field():
    class Shuffle(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x):
            x = self.conv(x)
            b, c, h, w = x.size()
            return x.view(b, 2, c // 2, h, w).transpose(1, 2).reshape(b, c, h, w)

    f = _by_layer(_Wrap(Shuffle()))["block"]
    assert (f.size, f.exact) == ((3, 3), True)


def test_receptive_fields_tf_same_padding_is_asymmetric_on_even_inputs():
    from cvviz.models.architectures.efficientnet_lite import Conv2dSame

    conv = Conv2dSame(3, 4, 3, stride=2)
    # Even input 8, k=3, s=2: TF pads 0 before and 1 after, so unit 0 covers pixels 0..2.
    f = _by_layer(nn.Sequential(conv), size=8)["0"]
    assert (f.size, f.stride, f.padding) == ((3, 3), (2, 2), (0, 0))
    assert _by_layer(nn.Sequential(Conv2dSame(3, 4, 3, stride=2)), size=9)["0"].padding == (1, 1)


def test_unit_box_reports_clipping_and_padding_share():
    f = LayerField("x", (7, 7), (2, 2), (3, 3), True)
    box = unit_box(f, 0, 0, 16)
    assert box.box == (-3, -3, 3, 3) and box.clipped == (0, 0, 3, 3)
    assert box.padding_fraction == pytest.approx(1 - 16 / 49)
    assert unit_box(f, 4, 4, 16).padding_fraction == 0.0


def test_receptive_field_for_spec_transformer_raises_one_sentence():
    with pytest.raises(ReceptiveFieldError, match="global"):
        receptive_field_for_spec(get_spec("vit_b_16"))
    with pytest.raises(ReceptiveFieldError):
        receptive_field_for_spec(get_spec("swin_t"))


def test_swin_window_fields_read_from_model():
    windows = swin_window_fields(get_spec("swin_t"))
    assert [w.token_stride for w in windows] == [4, 8, 16, 32]
    assert [w.window_pixels for w in windows] == [(28, 28), (56, 56), (112, 112), (224, 224)]


# --- The autograd self-check on catalog CNNs ---------------------------------------------------------------

CNNS = [spec.name for spec in list_models() if get_family(spec).receptive_field == "convolutional"]


# Large catalog CNNs that differ from another only in channel counts (widths, groups, normalisation sizes):
# the same spatial graph, so the same receptive fields and the same gradient support. The autograd check
# runs on the network named here (the cheapest of each set); each twin is pinned by comparing its spatial
# graph with that network's (cheaper by far than checking its float64 gradients).
SPATIAL_TWINS = {
    "resnext50_32x4d": "resnet50",
    "wide_resnet50_2": "resnet50",
    "resnext101_32x8d": "resnet101",
    "resnext101_64x4d": "resnet101",
    "wide_resnet101_2": "resnet101",
    "convnext_base": "convnext_small",
    "convnext_large": "convnext_small",
    "efficientnet_b2": "efficientnet_b1",
}
# Every other catalog CNN (a few minutes on two cores: small inputs and quick float64 weights keep it so).
CHECKED = [name for name in CNNS if name not in SPATIAL_TWINS]
CHECK_SIZE = {"lenet5": 32, "inception_v3": 96, "googlenet": 96}


@pytest.mark.parametrize("name", CNNS)
def test_receptive_field_for_spec_every_cnn_covers_its_stages(name):
    spec = get_spec(name)
    fields = {f.layer: f for f in receptive_field_for_spec(spec)}
    for stage in spec.stages:
        assert stage in fields, stage
        f = fields[stage]
        assert min(f.size) >= 1 and min(f.stride) >= 1
        assert f.exact or f.note


def _linearised(model: nn.Module) -> tuple[fx.GraphModule, dict[str, fx.Node]]:
    """The traced model with activations removed and max-pooling replaced by average pooling."""
    tracer = Tracer()
    graph = tracer.trace(model)
    gm = fx.GraphModule(tracer.root, graph)
    for node in list(gm.graph.nodes):
        module = gm.get_submodule(node.target) if node.op == "call_module" else None
        if isinstance(module, ACTIVATION_MODULES) or (
            node.op == "call_function" and node.target in ACTIVATION_FUNCTIONS
        ):
            gm.set_submodule(node.target, nn.Identity()) if module is not None else _bypass(node)
        elif isinstance(module, nn.MaxPool2d):
            gm.set_submodule(
                node.target,
                nn.AvgPool2d(module.kernel_size, module.stride, module.padding, ceil_mode=module.ceil_mode),
            )
        elif node.op == "call_function" and node.target is F.max_pool2d:
            node.target = F.avg_pool2d
            node.kwargs = {k: v for k, v in node.kwargs.items() if k in ("stride", "padding", "ceil_mode")}
    gm.graph.lint()
    gm.recompile()
    return gm, tracer.module_outputs


def _bypass(node: fx.Node) -> None:
    node.replace_all_uses_with(node.args[0])
    node.graph.erase_node(node)


class _Recorder(fx.Interpreter):
    def __init__(self, gm: fx.GraphModule, wanted: dict[fx.Node, str]) -> None:
        super().__init__(gm)
        self.wanted, self.values = wanted, {}

    def run_node(self, node: fx.Node):
        value = super().run_node(node)
        if node in self.wanted:
            self.values[self.wanted[node]] = value
        return value


_POOL_SIZE = 1_000_003  # a prime
_POOL = (
    torch.rand(_POOL_SIZE, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2 - 1
).repeat(2)


def _fill_from_pool(parameter: torch.Tensor, offset: int, bound: float, centre: float) -> None:
    """Fill ``parameter`` with ``centre ± bound`` uniform numbers read from the pool from ``offset`` on."""
    flat = parameter.view(-1)
    for start in range(0, flat.numel(), _POOL_SIZE):
        count = min(_POOL_SIZE, flat.numel() - start)
        at = (offset + start) % _POOL_SIZE
        flat[start : start + count].copy_(_POOL[at : at + count]).mul_(bound).add_(centre)


def _checked_model(name: str) -> nn.Module:
    """The architecture in float64 with quick random weights (a meta build filled in: no slow init).

    Built afresh for each test and released with it: kept for the session, the catalog's CNNs in
    float64 would hold about 16 GB."""
    torch.manual_seed(0)
    spec = get_spec(name)
    model = build_on_meta(spec)
    # Classifier heads are never between the input and a stage: drop their (large) weights.
    for module_name, module in list(model.named_modules()):
        outside = not any(module_name.startswith(f"{stage}.") for stage in spec.stages)
        if isinstance(module, nn.Linear) and outside:
            model.set_submodule(module_name, nn.Identity())
    model = model.double().to_empty(device="cpu")  # converted on meta: nothing is copied
    with torch.no_grad():
        offset = 0
        for p in model.parameters():
            # Uniform with a normal initialiser's variance (bias-like vectors in 0.5…1.5), read from a
            # pool of random numbers whose prime length aligns with no kernel shape: ten times quicker
            # than drawing every number of the largest models.
            bound = (3 / p[0].numel()) ** 0.5 if p.dim() > 1 else 0.5
            _fill_from_pool(p, offset, bound, 0.0 if p.dim() > 1 else 1.0)
            offset += p.numel()
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.reset_running_stats()
    return model.eval().requires_grad_(False)


@pytest.mark.slow
@pytest.mark.parametrize("name", CHECKED)
def test_receptive_fields_match_autograd_support(name):
    spec = get_spec(name)
    size = CHECK_SIZE.get(name, 64)
    model = _checked_model(name)
    fields = {f.layer: f for f in receptive_field_for_spec(spec, size)}
    stages = [spec.stages[len(spec.stages) // 2], spec.stages[-1]]
    gm, outputs = _linearised(model)
    torch.manual_seed(1)
    # The network is linear now, so its gradient does not depend on the input: one input suffices.
    x = torch.randn(1, spec.preprocessing.channels, size, size, dtype=torch.float64, requires_grad=True)
    recorder = _Recorder(gm, {outputs[s]: s for s in stages})
    recorder.run(x)
    for stage in stages:
        f = fields[stage]
        out = recorder.values[stage]
        i, j = out.shape[2] // 2, out.shape[3] // 2
        (grad,) = torch.autograd.grad(out[:, :, i, j].sum(), x, retain_graph=True)
        support = grad.abs().sum(dim=(0, 1)).nonzero()
        rows, cols = support[:, 0], support[:, 1]
        box = unit_box(f, i, j, size)
        if f.global_context:
            continue  # every pixel may matter: containment holds trivially, and the fill is not claimed
        top, left, bottom, right = box.clipped
        assert rows.min() >= top and rows.max() <= bottom, (stage, f, rows.min(), rows.max())
        assert cols.min() >= left and cols.max() <= right, (stage, f)
        if f.exact:  # every edge of the field that lies inside the image is reached
            edges = {"top": (box.box[0], rows.min()), "left": (box.box[1], cols.min())}
            edges |= {"bottom": (box.box[2], rows.max()), "right": (box.box[3], cols.max())}
            for edge, (expected, reached) in edges.items():
                if 0 <= expected < size:
                    assert reached == expected, (stage, edge, f)


# Module attributes that only count channels or (in eval mode) do nothing: dropout and stochastic depth.
_CHANNEL_ATTRIBUTES = {
    "in_channels",
    "out_channels",
    "groups",
    "num_features",
    "in_features",
    "out_features",
    "normalized_shape",
    "num_groups",
    "num_channels",
    "p",
    "inplace",
}


def _literal(value, index: dict[fx.Node, int]):
    if isinstance(value, fx.Node):
        return ("node", index[value])
    if isinstance(value, (list, tuple)):
        return tuple(_literal(item, index) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((key, _literal(item, index)) for key, item in value.items()))
    return value if isinstance(value, (int, float, bool, str, type(None))) else repr(value)


@functools.cache
def _spatial_graph(name: str) -> tuple:
    """A catalog model's traced graph with channel counts left out: every node's operation, its module's
    other settings (kernels, strides, paddings, dilations, pooling modes) and where its inputs come from."""
    tracer = Tracer()
    graph = tracer.trace(build_on_meta(get_spec(name)))
    index: dict[fx.Node, int] = {}
    nodes = []
    for node in graph.nodes:
        index[node] = len(index)
        args = node.args
        if node.op == "call_module":
            module = tracer.root.get_submodule(node.target)
            settings = sorted(
                (key, value)
                for key, value in vars(module).items()
                if not key.startswith("_")
                and key not in ("training", *_CHANNEL_ATTRIBUTES)
                and isinstance(value, (int, float, bool, str, tuple, type(None)))
            )
            what = (type(module).__name__, tuple(settings))
        elif node.op in ("call_function", "call_method"):
            what = getattr(node.target, "__name__", str(node.target))
            if node.target is F.layer_norm:  # normalised over the channels: keep how many dimensions only
                args = (args[0], len(args[1]), *args[2:])
            elif what == "stochastic_depth":  # its drop rate (the identity in eval mode, as checked)
                args = (args[0], None, *args[2:])
        else:
            what = node.target if node.op == "get_attr" else None
        nodes.append((node.op, what, _literal(args, index), _literal(node.kwargs, index)))
    return tuple(nodes)


@pytest.mark.slow
@pytest.mark.parametrize("twin", sorted(SPATIAL_TWINS))
def test_receptive_fields_of_spatial_twins_are_their_checked_networks(twin):
    checked = SPATIAL_TWINS[twin]
    assert checked in CHECKED
    assert get_spec(twin).preprocessing.channels == get_spec(checked).preprocessing.channels
    assert CHECK_SIZE.get(twin, 64) == CHECK_SIZE.get(checked, 64)
    assert _spatial_graph(twin) == _spatial_graph(checked)


# --- Effective receptive field ---------------------------------------------------------------------------


def test_effective_receptive_field_lies_in_field_and_leaves_no_hooks_or_grads():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1)).eval()
    model.requires_grad_(False)
    heat = effective_receptive_field(model, "2", torch.randn(1, 3, 16, 16), (8, 8))
    assert heat.shape == (16, 16)
    rows, cols = heat.nonzero()
    assert rows.min() >= 6 and rows.max() <= 10 and cols.min() >= 6 and cols.max() <= 10
    mean = average_effective_receptive_field(model, "2", (3, 16, 16), (8, 8), samples=4)
    assert mean.shape == (16, 16) and mean[8, 8] > 0 and mean[0, 0] == 0
    assert count_hooks(model) == 0
    assert all(p.grad is None for p in model.parameters())


def test_effective_receptive_field_bad_unit_raises_and_removes_hooks():
    model = nn.Sequential(nn.Conv2d(3, 4, 3)).eval().requires_grad_(False)
    with pytest.raises(ReceptiveFieldError):
        effective_receptive_field(model, "0", torch.randn(1, 3, 8, 8), (99, 0))
    assert count_hooks(model) == 0


# --- CLI -------------------------------------------------------------------------------------------------


def test_cli_rf_json_lists_layers(capsys):
    assert main(["rf", "alexnet", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0] == {"layer": "features.0", "size": 11, "stride": 4, "padding": 2, "exact": True}
    assert set(rows[0]) == {"layer", "size", "stride", "padding", "exact"}


def test_cli_rf_asymmetric_values_are_pairs(capsys):
    assert main(["rf", "inception_v3", "--json"]) == 0
    rows = {r["layer"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["Mixed_6b.branch7x7_2"]["size"][0] != rows["Mixed_6b.branch7x7_2"]["size"][1]


def test_cli_rf_unknown_model_exits_2(capsys):
    assert main(["rf", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1


def test_cli_rf_transformer_exits_2_with_sentence(capsys):
    assert main(["rf", "vit_b_16", "--input-size", "224"]) == 2
    assert "global" in capsys.readouterr().err


def test_growth_figure_leaves_global_pooling_off_the_curve():
    from cvviz.explain.receptive_field import leaf_fields
    from cvviz.plotting.receptive_field import growth_figure

    fields = leaf_fields(receptive_field_for_spec(get_spec("resnet50")))
    curve = growth_figure({"ResNet-50": fields}).data[0]
    assert "avgpool" not in [row[0] for row in curve.customdata]
    assert curve.y[-1] == max(curve.y) == 427  # the last stage's field, not the 224-pixel "whole image"
