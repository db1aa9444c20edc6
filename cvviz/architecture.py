"""A backbone's structure, computed from the model in hand: its layer table, the shape of the network along
depth, and a block calculator that builds real blocks from ``nn`` modules and counts their cost.

Every number comes from :func:`cvviz.complexity.measure_complexity` (parameters by ``numel``, MACs by
torch's FLOP counter on the meta device) — no formula is typed in. The family's signature block lives in
:func:`signature_block`, found in the built model and measured on it.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch
from torch import nn

from cvviz.catalog import ModelSpec
from cvviz.complexity import Complexity, LayerCost, measure_complexity
from cvviz.features import layout_of, normalised_shape

# --- The layer table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerGroup:
    """A row of the layer table at some depth: a module and everything below it.

    ``params``/``macs`` are the sums of its members' own costs, so the rows of a table add up to the whole
    model; ``share`` is its fraction of the model's MACs (of parameters when the model has no MACs).
    ``output_shape`` includes the batch dimension (None when the module returns no tensor).
    """

    name: str
    type: str
    output_shape: tuple[int, ...] | None
    params: int
    macs: int
    members: int
    param_share: float
    mac_share: float

    @property
    def flops(self) -> int:
        return 2 * self.macs


def _group_key(row: LayerCost, depth: int) -> str:
    if row.depth < 0:
        return row.name
    return ".".join(row.name.split(".")[: depth + 1])


def max_depth(complexity: Complexity) -> int:
    """The deepest module's depth (0 = the model's direct children)."""
    return max((row.depth for row in complexity.layers), default=0)


def group_layers(complexity: Complexity, depth: int) -> tuple[LayerGroup, ...]:
    """Aggregate the per-module rows to ``depth``: each group's params/MACs are its members' sums.

    Depth 0 gives one row per top-level child; :func:`max_depth` gives every module. Groups keep the
    model's module order; their totals equal ``complexity.params`` and ``complexity.macs``.
    """
    by_name = {row.name: row for row in complexity.layers}
    groups: dict[str, list[LayerCost]] = {}
    for row in complexity.layers:
        groups.setdefault(_group_key(row, depth), []).append(row)
    result = []
    for key, members in groups.items():
        head = by_name.get(key, members[0])
        params = sum(m.params for m in members)
        macs = sum(m.macs for m in members)
        result.append(
            LayerGroup(
                name=key,
                type=head.type,
                output_shape=head.output_shape,
                params=params,
                macs=macs,
                members=len(members),
                param_share=params / complexity.params if complexity.params else 0.0,
                mac_share=macs / complexity.macs if complexity.macs else 0.0,
            )
        )
    return tuple(result)


# --- The shape of the network ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfilePoint:
    """The feature map after one stage: ``channels`` × ``height`` × ``width`` (for tokens: width D and a
    √N × √N grid); ``tokens`` is the sequence length for token outputs (class token included), else None."""

    name: str
    channels: int
    height: int
    width: int
    tokens: int | None
    layout: str

    @property
    def positions(self) -> int:
        return self.height * self.width


def network_profile(spec: ModelSpec, complexity: Complexity) -> tuple[ProfilePoint, ...]:
    """Resolution and width along depth: the input, then each of ``spec.stages``' outputs.

    A CNN shows a pyramid (resolution falls, channels grow); a ViT a flat column (the same token count
    and width after the patch embedding). Swin's channels-last outputs are read as NHWC.
    """
    shapes = {row.name: row.output_shape for row in complexity.layers}
    _, c, h, w = complexity.input_shape
    points = [ProfilePoint("input", c, h, w, None, "image")]
    for stage in spec.stages:
        shape = shapes.get(stage)
        if shape is None:
            continue
        channels, height, width = normalised_shape(shape)
        kind = layout_of(shape)
        tokens = shape[1] if kind in ("tokens", "tokens+cls") else None
        points.append(ProfilePoint(stage, channels, height, width, tokens, kind))
    return tuple(points)


# --- The block calculator ----------------------------------------------------------------------------

BlockKind = Literal["standard", "stack3x3", "reduce", "bottleneck", "separable", "fire", "grouped"]

BLOCK_KINDS: dict[str, str] = {
    "standard": "standard k×k convolution",
    "stack3x3": "stack of n 3×3 convolutions",
    "reduce": "1×1 reduction, then k×k",
    "bottleneck": "ResNet bottleneck (1×1 → 3×3 → 1×1)",
    "separable": "depthwise-separable (k×k depthwise, 1×1 pointwise)",
    "fire": "fire module (1×1 squeeze; 1×1 and 3×3 expand)",
    "grouped": "grouped k×k convolution",
}


@dataclass(frozen=True)
class BlockChoice:
    """One block for the calculator. ``mid`` is the reduced/bottleneck/squeeze width (None: C_out // 4),
    ``n`` the number of stacked 3×3s, ``groups`` the groups of a grouped conv; ``bias`` adds conv biases."""

    kind: BlockKind
    k: int = 3
    n: int = 2
    mid: int | None = None
    groups: int = 2
    bias: bool = False

    def label(self) -> str:
        mid = f", mid {self.mid}" if self.mid else ""
        if self.kind == "standard":
            return f"one {self.k}×{self.k} conv"
        if self.kind == "stack3x3":
            return f"{self.n} stacked 3×3 convs"
        if self.kind == "reduce":
            return f"1×1 reduction{mid} → {self.k}×{self.k}"
        if self.kind == "separable":
            return f"depthwise {self.k}×{self.k} + pointwise 1×1"
        if self.kind == "grouped":
            return f"{self.k}×{self.k} conv in {self.groups} groups"
        return BLOCK_KINDS[self.kind] + mid


class _Fire(nn.Module):
    """SqueezeNet's fire module: squeeze 1×1 to ``mid``, then 1×1 and 3×3 expands concatenated."""

    def __init__(self, c_in: int, c_out: int, mid: int, bias: bool) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(c_in, mid, 1, bias=bias)
        self.expand1x1 = nn.Conv2d(mid, c_out // 2, 1, bias=bias)
        self.expand3x3 = nn.Conv2d(mid, c_out - c_out // 2, 3, padding=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.squeeze(x))
        return torch.cat([self.expand1x1(x), self.expand3x3(x)], dim=1)


class _Residual(nn.Module):
    """``body(x) + x`` (the addition is element-wise and not counted)."""

    def __init__(self, body: nn.Module, skip: bool) -> None:
        super().__init__()
        self.body = body
        self.skip = skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return out + x if self.skip and out.shape == x.shape else out


def build_block(choice: BlockChoice, c_in: int, c_out: int) -> nn.Module:
    """The real block as ``nn`` modules (stride 1, 'same' padding), ready to be counted."""
    k, bias = choice.k, choice.bias
    mid = choice.mid or max(1, c_out // 4)
    if choice.kind == "standard":
        return nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=bias)
    if choice.kind == "stack3x3":
        layers: list[nn.Module] = []
        for i in range(choice.n):
            layers += [nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1, bias=bias), nn.ReLU()]
        return nn.Sequential(*layers)
    if choice.kind == "reduce":
        return nn.Sequential(
            nn.Conv2d(c_in, mid, 1, bias=bias), nn.ReLU(), nn.Conv2d(mid, c_out, k, padding=k // 2, bias=bias)
        )
    if choice.kind == "bottleneck":
        body = nn.Sequential(
            nn.Conv2d(c_in, mid, 1, bias=bias),
            nn.ReLU(),
            nn.Conv2d(mid, mid, 3, padding=1, bias=bias),
            nn.ReLU(),
            nn.Conv2d(mid, c_out, 1, bias=bias),
        )
        return _Residual(body, skip=True)
    if choice.kind == "separable":
        return nn.Sequential(
            nn.Conv2d(c_in, c_in, k, padding=k // 2, groups=c_in, bias=bias),
            nn.ReLU(),
            nn.Conv2d(c_in, c_out, 1, bias=bias),
        )
    if choice.kind == "fire":
        return _Fire(c_in, c_out, mid, bias)
    if choice.kind == "grouped":
        if c_in % choice.groups or c_out % choice.groups:
            raise ValueError(f"{choice.groups} groups must divide C_in={c_in} and C_out={c_out}.")
        return nn.Conv2d(c_in, c_out, k, padding=k // 2, groups=choice.groups, bias=bias)
    raise ValueError(f"Unknown block kind {choice.kind!r}; expected one of {', '.join(BLOCK_KINDS)}.")


@dataclass(frozen=True)
class BlockCost:
    """A built block's weights (``params``) and multiplications (``macs``) for one H×W×C_in input."""

    label: str
    params: int
    macs: int
    output_shape: tuple[int, ...]
    layers: tuple[LayerCost, ...]


def block_cost(choice: BlockChoice, height: int, width: int, c_in: int, c_out: int) -> BlockCost:
    """Build ``choice`` on the meta device and count it for a (1, C_in, H, W) input."""
    with torch.device("meta"):
        block = build_block(choice, c_in, c_out)
    counted = measure_complexity(block, (1, c_in, height, width))
    with torch.device("meta"), torch.no_grad():
        output = tuple(block(torch.zeros(1, c_in, height, width)).shape)
    rows = tuple(row for row in counted.layers if row.params or row.macs)
    return BlockCost(choice.label(), counted.params, counted.macs, output, rows)


@dataclass(frozen=True)
class BlockPreset:
    """A classic worked example: the same input and output computed by two blocks side by side."""

    title: str
    height: int
    width: int
    c_in: int
    c_out: int
    left: BlockChoice
    right: BlockChoice
    source: str


PRESETS: tuple[BlockPreset, ...] = (
    BlockPreset(
        "Three 3×3 convs vs one 7×7 (VGG)",
        56,
        56,
        64,
        64,
        BlockChoice("stack3x3", n=3),
        BlockChoice("standard", k=7),
        "Simonyan & Zisserman 2014, §2.3: three 3×3 layers see 7×7 with 27C² weights instead of 49C².",
    ),
    BlockPreset(
        "ResNet bottleneck at 256 channels vs two 3×3",
        56,
        56,
        256,
        256,
        BlockChoice("bottleneck", mid=64),
        BlockChoice("stack3x3", n=2),
        "He et al. 2015, Fig. 5: 1×1 256→64, 3×3 64→64, 1×1 64→256.",
    ),
    BlockPreset(
        "Depthwise-separable vs standard 3×3 (MobileNet)",
        112,
        112,
        64,
        128,
        BlockChoice("separable"),
        BlockChoice("standard", k=3),
        "Howard et al. 2017, §3.1: cost ratio 1/C_out + 1/k².",
    ),
    BlockPreset(
        "GoogLeNet 1×1 reduction before a 5×5",
        28,
        28,
        192,
        32,
        BlockChoice("reduce", k=5, mid=16),
        BlockChoice("standard", k=5),
        "Szegedy et al. 2014, §5: a 1×1 reduction to 16 channels cuts a 5×5 conv's multiplications ~10×.",
    ),
)


def compare_blocks(
    choices: Sequence[BlockChoice], height: int, width: int, c_in: int, c_out: int
) -> tuple[BlockCost, ...]:
    """Each block of ``choices`` counted for the same input and output, side by side."""
    return tuple(block_cost(choice, height, width, c_in, c_out) for choice in choices)


# --- The family's signature block, read from the built model -----------------------------------------


class Fact(NamedTuple):
    """One number about a block: what it is, its value, and how it was computed from the module."""

    label: str
    value: int | float | str
    how: str


@dataclass(frozen=True)
class SignatureBlock:
    """The building block a family is known for, found in the real model and measured on it.

    ``module_name`` is its qualified name in the model; ``facts`` are computed from that module's own
    weights and attributes; ``table`` (with ``columns``) holds per-part rows, e.g. Inception's branches.
    """

    title: str
    module_name: str
    description: str
    facts: tuple[Fact, ...]
    columns: tuple[str, ...] = ()
    table: tuple[tuple[object, ...], ...] = ()

    def fact(self, label: str) -> int | float | str:
        for item in self.facts:
            if item.label == label:
                return item.value
        raise KeyError(label)


def _numel(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _convs(module: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    return [(name, m) for name, m in module.named_modules() if isinstance(m, nn.Conv2d)]


def _expands(block: nn.Module) -> bool:
    """Whether an inverted-residual block opens with a 1×1 expansion (not directly with the depthwise)."""
    convs = _convs(block)
    return len(convs) >= 3 and convs[0][1].groups == 1 and convs[0][1].out_channels > convs[0][1].in_channels


def _first(model: nn.Module, type_names: Sequence[str]) -> tuple[str, nn.Module] | None:
    for name, module in model.named_modules():
        if type(module).__name__ in type_names:
            return name, module
    return None


def _vgg(spec: ModelSpec, model: nn.Module, complexity: Complexity | None) -> SignatureBlock:
    features = model.features
    stage, start = [], None
    for index, layer in enumerate(features):  # the first stage that stacks two or more 3×3 convs
        if isinstance(layer, nn.MaxPool2d):
            if len(stage) >= 2:
                break
            stage, start = [], None
        elif isinstance(layer, nn.Conv2d):
            start = index if start is None else start
            stage.append(layer)
    if len(stage) < 2:  # VGG-11's first stages hold one conv each; fall back to the first conv pair
        convs = [m for m in features if isinstance(m, nn.Conv2d)]
        pairs = [
            (a, b) for a, b in itertools.pairwise(convs) if a.out_channels == b.in_channels == b.out_channels
        ]
        stage = list(pairs[0])
        start = list(features).index(stage[0])
    first, second = stage[0], stage[1]
    c_in, c_out = second.in_channels, second.out_channels
    two = second.weight.numel() * 2
    five = 5 * 5 * c_in * c_out
    facts = (
        Fact("convs in the stage", len(stage), "Conv2d modules before the stage's max-pool"),
        Fact("channels", c_out, "out_channels of the stage's convs"),
        Fact("receptive field of two 3×3", 5, "1 + 2·(3 − 1)"),
        Fact("weights of two 3×3", two, f"2 × weight.numel() of a 3×3 {c_in}→{c_out} conv"),
        Fact("weights of one 5×5", five, f"5·5·{c_in}·{c_out}"),
        Fact("saving", round(1 - two / five, 4), "1 − (2·3·3)/(5·5)"),
        Fact("first conv weights", first.weight.numel(), "weight.numel()"),
    )
    return SignatureBlock(
        "A stage of stacked 3×3 convolutions",
        f"features.{start}",
        "Two 3×3 convolutions see a 5×5 window with 18C² weights instead of 25C², and add a ReLU between.",
        facts,
    )


def _resnet(spec: ModelSpec, model: nn.Module, complexity: Complexity | None) -> SignatureBlock:
    name, block = _first(model, ("Bottleneck", "BasicBlock"))
    convs = [m for _, m in _convs(block) if "downsample" not in _]
    facts = [Fact("block type", type(block).__name__, "type of layer1.0")]
    for i, conv in enumerate(convs, 1):
        k = conv.kernel_size[0]
        facts.append(
            Fact(
                f"conv{i}: {k}×{k} {conv.in_channels}→{conv.out_channels}",
                conv.weight.numel(),
                "weight.numel()" + (f" (groups={conv.groups})" if conv.groups > 1 else ""),
            )
        )
    block_convs = sum(c.weight.numel() for c in convs)
    facts.append(Fact("block conv weights", block_convs, "sum of the convs' weight.numel()"))
    facts.append(Fact("has projection shortcut", block.downsample is not None, "block.downsample is set"))
    # The paper's comparison at 256 channels: the bottleneck vs two plain 3×3s (built and counted).
    bottleneck = block_cost(BlockChoice("bottleneck", mid=64), 56, 56, 256, 256)
    plain = block_cost(BlockChoice("stack3x3", n=2), 56, 56, 256, 256)
    facts.append(Fact("bottleneck 1×1→3×3→1×1 at 256 ch", bottleneck.params, "built from nn.Conv2d, numel"))
    facts.append(Fact("two 3×3 at 256 ch", plain.params, "built from nn.Conv2d, numel"))
    return SignatureBlock(
        f"Residual {type(block).__name__} with a skip connection",
        name,
        "The block learns F(x) and outputs F(x) + x, so the identity is always one step away; the "
        "bottleneck's 1×1 convs shrink and restore channels around the 3×3.",
        tuple(facts),
    )


def _branch_costs(prefix: str, module: nn.Module, complexity: Complexity) -> tuple[tuple[object, ...], ...]:
    rows = []
    for child, sub in module.named_children():
        full = f"{prefix}.{child}"
        macs = sum(r.macs for r in complexity.layers if r.name == full or r.name.startswith(full + "."))
        shape = next((r.output_shape for r in complexity.layers if r.name == full), None)
        kernels = " → ".join(
            f"{c.kernel_size[0]}×{c.kernel_size[1]} {c.in_channels}→{c.out_channels}" for _, c in _convs(sub)
        )
        rows.append((child, kernels, _numel(sub), macs, shape[1] if shape else None))
    return tuple(rows)


def _inception(spec: ModelSpec, model: nn.Module, complexity: Complexity) -> SignatureBlock:
    name, block = _first(model, ("Inception", "InceptionA"))
    table = _branch_costs(name, block, complexity)
    reductions = [
        (child, convs[0][1])
        for child, sub in block.named_children()
        if len(convs := _convs(sub)) > 1 and convs[0][1].kernel_size == (1, 1)
    ]
    facts = [
        Fact("branches", len(table), "children of the module"),
        Fact("output channels", sum(int(r[4]) for r in table), "sum of the branches' output channels"),
        Fact("params", _numel(block), "sum of numel() over the module"),
        Fact("MACs", sum(int(r[3]) for r in table), "FLOP counter on the meta device"),
    ]
    for child, conv in reductions:
        facts.append(
            Fact(
                f"{child}: 1×1 reduction", f"{conv.in_channels}→{conv.out_channels}", "the branch's 1×1 conv"
            )
        )
    return SignatureBlock(
        "Inception module: parallel branches with 1×1 reductions",
        name,
        "1×1, 3×3, 5×5 (or factorised) and pooling branches run side by side and are concatenated; 1×1 "
        "convs cut the channels before the expensive kernels.",
        tuple(facts),
        ("branch", "convs", "params", "MACs", "out channels"),
        table,
    )


def _densenet(spec: ModelSpec, model: nn.Module, complexity: Complexity | None) -> SignatureBlock:
    block = model.features.denseblock1
    layers = list(block.children())
    growth = layers[0].conv2.out_channels
    c0 = layers[0].norm1.num_features
    widths = (*(layer.norm1.num_features for layer in layers), c0 + growth * len(layers))
    transition = model.features.transition1.conv
    table = (
        *((f"denselayer{i + 1} input", w) for i, w in enumerate(widths[:-1])),
        ("block output", widths[-1]),
    )
    facts = (
        Fact("growth rate k", growth, "conv2.out_channels of each dense layer"),
        Fact("layers in block 1", len(layers), "children of denseblock1"),
        Fact("input channels", c0, "norm1.num_features of the first layer"),
        Fact("block output channels", widths[-1], "input + k × layers (concatenation)"),
        Fact("bottleneck width", layers[0].conv1.out_channels, "conv1.out_channels (4k)"),
        Fact(
            "transition compression",
            round(transition.out_channels / transition.in_channels, 4),
            "transition1.conv out/in channels",
        ),
    )
    return SignatureBlock(
        "Dense block: every layer sees all earlier maps",
        "features.denseblock1",
        "Each layer adds k new channels and passes on the concatenation of everything before it; a "
        "transition layer halves the channels between blocks.",
        facts,
        ("where", "channels"),
        table,
    )


def _squeezenet(spec: ModelSpec, model: nn.Module, complexity: Complexity | None) -> SignatureBlock:
    name, fire = _first(model, ("Fire",))
    facts = (
        Fact("input channels", fire.squeeze.in_channels, "squeeze.in_channels"),
        Fact("squeeze 1×1", fire.squeeze.out_channels, "squeeze.out_channels"),
        Fact("expand 1×1", fire.expand1x1.out_channels, "expand1x1.out_channels"),
        Fact("expand 3×3", fire.expand3x3.out_channels, "expand3x3.out_channels"),
        Fact(
            "output channels", fire.expand1x1.out_channels + fire.expand3x3.out_channels, "1×1 + 3×3 expands"
        ),
        Fact("params", _numel(fire), "numel() over the module"),
        Fact(
            "params of a plain 3×3 in→out",
            9 * fire.squeeze.in_channels * (fire.expand1x1.out_channels + fire.expand3x3.out_channels),
            "3·3·C_in·C_out",
        ),
    )
    return SignatureBlock(
        "Fire module: squeeze, then expand",
        name,
        "A 1×1 squeeze layer cuts the channels, then 1×1 and 3×3 expand layers run in parallel and are "
        "concatenated: AlexNet accuracy with 50× fewer parameters.",
        facts,
    )


def _mobilenet(spec: ModelSpec, model: nn.Module, complexity: Complexity | None) -> SignatureBlock:
    found = _first(model, ("InvertedResidual",))
    if found is None:
        name, block = _first(model, ("DepthwiseSeparableConv",))
        description = "A per-channel 3×3 (depthwise) then a 1×1 that mixes channels (pointwise)."
        title = "Depthwise-separable convolution"
    else:
        name, block = next(
            (n, m) for n, m in model.named_modules() if type(m).__name__ == "InvertedResidual" and _expands(m)
        )
        description = (
            "Inverted residual: a 1×1 expands the thin input, a depthwise 3×3 filters it, and a linear 1×1 "
            "projects back, with a skip between the thin ends."
        )
        title = "Inverted residual with a depthwise convolution"
    convs = [c for _, c in _convs(block)]
    depthwise = next(c for c in convs if c.groups == c.in_channels and c.groups > 1)
    pointwise = convs[-1]
    c_in, c_out, k = depthwise.in_channels, pointwise.out_channels, depthwise.kernel_size[0]
    separable = depthwise.weight.numel() + pointwise.weight.numel()
    standard = k * k * c_in * c_out
    facts = [
        Fact("depthwise kernel", f"{k}×{k} on {c_in} channels", "the conv with groups == in_channels"),
        Fact("depthwise + pointwise weights", separable, "weight.numel() of both convs"),
        Fact(f"standard {k}×{k} {c_in}→{c_out} weights", standard, f"{k}·{k}·{c_in}·{c_out}"),
        Fact("cost ratio", round(separable / standard, 4), f"= 1/{c_out} + 1/{k * k}"),
    ]
    if found is not None:
        expand = convs[0]
        facts.insert(
            0, Fact("expand ratio", round(expand.out_channels / expand.in_channels, 4), "1×1 expand out/in")
        )
    return SignatureBlock(title, name, description, tuple(facts))


def _shufflenet(spec: ModelSpec, model: nn.Module, complexity: Complexity | None) -> SignatureBlock:
    name, block = _first(model, ("InvertedResidual",))
    channels = block.branch2[0].out_channels * 2
    groups = 2
    order = torch.arange(channels).reshape(groups, channels // groups).t().reshape(-1)
    permutation = order.tolist()
    shown = ", ".join(str(i) for i in permutation[:12])
    facts = (
        Fact("output channels", channels, "2 × branch2[0].out_channels (two branches concatenated)"),
        Fact("groups shuffled", groups, "torchvision channel_shuffle(x, 2)"),
        Fact("shuffle permutation (first 12)", shown, "reshape (2, C/2) → transpose → flatten"),
        Fact("params", _numel(block), "numel() over the unit"),
    )
    return SignatureBlock(
        "Channel split and channel shuffle",
        name,
        "Half the channels pass through, half go through a cheap branch; a shuffle then interleaves the two "
        "halves so the next unit's split mixes information from both.",
        facts,
        ("output position", "comes from channel"),
        tuple((i, p) for i, p in enumerate(permutation)),
    )


def _efficientnet(spec: ModelSpec, model: nn.Module, complexity: Complexity | None) -> SignatureBlock:
    name, block = next(
        (n, m) for n, m in model.named_modules() if type(m).__name__ == "MBConv" and _expands(m)
    )
    convs = [c for _, c in _convs(block)]
    expand = convs[0]
    depthwise = next(c for c in convs if c.groups > 1)
    facts = [
        Fact("expand ratio", round(expand.out_channels / expand.in_channels, 4), "1×1 expand out/in"),
        Fact("depthwise kernel", f"{depthwise.kernel_size[0]}×{depthwise.kernel_size[1]}", "kernel_size"),
        Fact(
            "squeeze-excitation",
            any(type(m).__name__ == "SqueezeExcitation" for m in block.modules()),
            "has SE",
        ),
        Fact("params", _numel(block), "numel() over the block"),
    ]
    table: tuple[tuple[object, ...], ...] = ()
    if spec.name.startswith("efficientnet_b"):
        table = compound_scaling_table()
    return SignatureBlock(
        "MBConv and compound scaling",
        name,
        "An inverted residual with squeeze-and-excitation; B0 → B7 grow width, depth and input resolution "
        "together.",
        tuple(facts),
        ("model", "stem channels", "head channels", "MBConv blocks", "input size", "params"),
        table,
    )


@functools.cache
def compound_scaling_table() -> tuple[tuple[object, ...], ...]:
    """Width, depth and resolution of EfficientNet-B0…B7, each read from the model built on meta.

    Columns: title, stem channels, head channels, MBConv blocks, input size, parameters (Tan & Le 2019,
    Table 1 and §3.3: depth, width and resolution grow together).
    """
    from cvviz.catalog import get_spec
    from cvviz.models import build_on_meta

    rows = []
    for variant in range(8):
        spec = get_spec(f"efficientnet_b{variant}")
        model = build_on_meta(spec)
        blocks = sum(1 for m in model.modules() if type(m).__name__ == "MBConv")
        rows.append(
            (
                spec.title,
                model.features[0][0].out_channels,
                model.features[-1][0].out_channels,
                blocks,
                spec.input_size,
                _numel(model),
            )
        )
    return tuple(rows)


def _vit(spec: ModelSpec, model: nn.Module, complexity: Complexity | None) -> SignatureBlock:
    conv = model.conv_proj
    patch = conv.kernel_size[0]
    size = spec.input_size
    patches = (size // patch) ** 2
    facts = (
        Fact("patch size", f"{patch}×{patch}", "conv_proj.kernel_size (stride equal)"),
        Fact("patches", patches, f"({size}/{patch})²"),
        Fact("embedding width", conv.out_channels, "conv_proj.out_channels"),
        Fact("patch embedding params", _numel(conv), f"{patch}·{patch}·3·D + D"),
        Fact("class token", tuple(model.class_token.shape)[-1], "class_token width (one extra token)"),
        Fact("tokens", model.encoder.pos_embedding.shape[1], "encoder.pos_embedding.shape[1] = patches + 1"),
        Fact("position embedding params", model.encoder.pos_embedding.numel(), "pos_embedding.numel()"),
    )
    return SignatureBlock(
        "Patch embedding",
        "conv_proj",
        "The image is cut into patches, each linearly embedded (a strided conv), a learned class token is "
        "prepended and position embeddings added; the Transformer sees a sequence of tokens.",
        facts,
    )


def _swin(spec: ModelSpec, model: nn.Module, complexity: Complexity | None) -> SignatureBlock:
    name, merge = _first(model, ("PatchMerging", "PatchMergingV2"))
    attention = next(m for m in model.modules() if hasattr(m, "window_size") and hasattr(m, "shift_size"))
    patch = model.features[0][0]
    shifts = [tuple(m.shift_size) for m in model.modules() if hasattr(m, "shift_size")][:2]
    facts = (
        Fact("patch size", f"{patch.kernel_size[0]}×{patch.kernel_size[1]}", "features.0.0 kernel_size"),
        Fact("window size", f"{attention.window_size[0]}×{attention.window_size[1]}", "attn.window_size"),
        Fact("shift of alternate blocks", str(shifts[-1]), "shift_size of the second block"),
        Fact(
            "merge input (4C)",
            merge.reduction.in_features,
            "reduction.in_features: 2×2 neighbours concatenated",
        ),
        Fact("merge output (2C)", merge.reduction.out_features, "reduction.out_features"),
        Fact("merge params", _numel(merge), "numel() (linear + norm)"),
    )
    return SignatureBlock(
        "Shifted windows and patch merging",
        name,
        "Attention runs inside local windows that shift by half a window in alternate blocks; patch merging "
        "concatenates 2×2 neighbours (4C) and projects to 2C, halving the resolution like a CNN stage.",
        facts,
    )


def _generic(spec: ModelSpec, model: nn.Module, complexity: Complexity) -> SignatureBlock:
    top = max((g for g in group_layers(complexity, 0) if g.name != "(model)"), key=lambda g: g.macs)
    conv_name, conv = _convs(model)[0]
    facts = (
        Fact("first conv", f"{conv.kernel_size[0]}×{conv.kernel_size[1]} stride {conv.stride[0]}", conv_name),
        Fact("first conv weights", conv.weight.numel(), "weight.numel()"),
        Fact("heaviest top-level module", top.name, "largest MACs at depth 0"),
        Fact("its params", top.params, "sum of its modules' numel()"),
    )
    return SignatureBlock(spec.title, top.name, spec.key_idea, facts)


def _big_first_filters(spec: ModelSpec, model: nn.Module, complexity: Complexity | None) -> SignatureBlock:
    name, conv = _convs(model)[0]
    k, stride = conv.kernel_size[0], conv.stride[0]
    facts = (
        Fact("kernel", f"{k}×{k}", f"{name}.kernel_size"),
        Fact("stride", stride, f"{name}.stride"),
        Fact("filters", conv.out_channels, f"{name}.out_channels"),
        Fact("input channels", conv.in_channels, f"{name}.in_channels"),
        Fact("weights", conv.weight.numel(), f"{k}·{k}·{conv.in_channels}·{conv.out_channels}"),
        Fact(
            "stacked 3×3 layers for the same view",
            (k - 1) // 2,
            f"n 3×3 convs see 1 + 2n pixels; 1 + 2n = {k}",
        ),
    )
    return SignatureBlock(
        "Large first-layer filters",
        name,
        "Early CNNs looked at the image through large kernels with a big stride; later designs replace "
        "them with stacks of small ones.",
        facts,
    )


def _convnext(spec: ModelSpec, model: nn.Module, complexity: Complexity | None) -> SignatureBlock:
    name, block = _first(model, ("CNBlock",))
    depthwise = next(c for _, c in _convs(block) if c.groups > 1)
    linears = [m for m in block.modules() if isinstance(m, nn.Linear)]
    c = depthwise.in_channels
    facts = (
        Fact(
            "depthwise kernel",
            f"{depthwise.kernel_size[0]}×{depthwise.kernel_size[1]}",
            "block.0.kernel_size",
        ),
        Fact("channels", c, "block.0.in_channels"),
        Fact("expansion", linears[0].out_features // c, "first Linear out_features / channels"),
        Fact("norm", type(block.block[2]).__name__, "block.2"),
        Fact("params", _numel(block), "numel() over the block"),
        Fact(
            "depthwise weights",
            depthwise.weight.numel(),
            f"{depthwise.kernel_size[0]}·{depthwise.kernel_size[1]}·{c}",
        ),
    )
    return SignatureBlock(
        "ConvNeXt block: a ResNet modernised",
        name,
        "A 7×7 depthwise conv, LayerNorm, then an inverted bottleneck of two pointwise layers (×4 with "
        "GELU) — Transformer choices in a pure CNN.",
        facts,
    )


def _maxvit(spec: ModelSpec, model: nn.Module, complexity: Complexity | None) -> SignatureBlock:
    layer_name, layer = _first(model, ("MaxVitLayer",))
    window = layer.layers.window_attention
    grid = layer.layers.grid_attention
    facts = (
        Fact("block attention window", f"{window.p}×{window.p}", "window_attention.p (local windows)"),
        Fact("grid attention grid", f"{grid.g}×{grid.g}", "grid_attention.g (dilated, global)"),
        Fact("MBConv first", type(layer.layers[0]).__name__, "layers[0]"),
        Fact("heads", window.n_heads, "window_attention.n_heads"),
        Fact("params", _numel(layer), "numel() over the layer"),
    )
    return SignatureBlock(
        "MaxViT layer: MBConv, block attention, grid attention",
        layer_name,
        "Attention within local windows and across a sparse global grid gives global interaction at linear "
        "cost; an MBConv runs first.",
        facts,
    )


_BY_FAMILY = {
    "LeNet": _big_first_filters,
    "AlexNet": _big_first_filters,
    "ConvNeXt": _convnext,
    "MaxViT": _maxvit,
    "VGG": _vgg,
    "ResNet": _resnet,
    "Inception": _inception,
    "DenseNet": _densenet,
    "SqueezeNet": _squeezenet,
    "MobileNet": _mobilenet,
    "ShuffleNet": _shufflenet,
    "EfficientNet": _efficientnet,
    "ViT": _vit,
    "Swin": _swin,
}


def signature_block(
    spec: ModelSpec, model: nn.Module, complexity: Complexity | None = None
) -> SignatureBlock:
    """The family's representative block found in ``model`` and measured on it (see :class:`SignatureBlock`).

    ``complexity`` (per-layer MACs, needed for Inception branches and the generic fallback) is counted on
    the meta device when not given.
    """
    from cvviz.complexity import complexity_for_spec

    handler = _BY_FAMILY.get(spec.family, _generic)
    if complexity is None and handler in (_inception, _generic):
        complexity = complexity_for_spec(spec)
    try:
        return handler(spec, model, complexity)
    except (AttributeError, StopIteration, TypeError, IndexError):
        return _generic(spec, model, complexity or complexity_for_spec(spec))
