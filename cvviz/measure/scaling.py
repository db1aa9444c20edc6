"""How cost grows as the knobs turn: input size, width multiplier, and compound scaling.

Every count is made on the model itself, rebuilt for the knob's setting on the meta device (no weights,
no memory), with torch's own FLOP formulas (``torch.utils.flop_counter.flop_registry``, as
:mod:`cvviz.measure.complexity` uses them). Each multiply-accumulate is filed by the operation that did it:

* **attention**: batched products of two activations (``bmm``, fused attention kernels), which in these
  models are exactly self-attention's QKᵀ and AV;
* **convolutions** and **linear layers** (matrix products with a weight: projections, MLPs, classifiers);
* the rest, element-wise work (activations, normalisation, softmax, additions, pooling), is not made of
  MACs: it is counted apart as one operation per output element.

The same pass follows the lifetime of every tensor the forward pass creates, so the peak of their bytes
held at once (batch 1, inference) is known without running the model. Latency is timed on the current
device with :mod:`cvviz.measure.timing`, as a job.

A ViT is built for one input size (its position embedding holds one vector per patch): at another size it
is rebuilt with a position embedding for the new grid, which is what interpolating the trained one gives
(torchvision's ``interpolate_embeddings``); the family says so in each row's ``note``.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import flop_registry

from cvviz.catalog.registry import get_family, get_spec
from cvviz.catalog.schema import ModelSpec
from cvviz.device import describe_device, resolve_device
from cvviz.errors import CvvizError
from cvviz.i18n import N_, _
from cvviz.jobs import Job, Reporter
from cvviz.measure.complexity import _SHAPE_PRESERVING_NORMS
from cvviz.measure.timing import estimate_seconds, seconds_per_mac, time_forward
from cvviz.models.build import build_for_timing, build_on_meta

MIN_SIZE, MAX_SIZE = 32, 1024
DEFAULT_SIZES = (224, 320, 448, 640)
INPUT_SWEEP_MODELS = ("vit_b_16", "swin_t", "resnet50", "convnext_tiny")
"""ViT-B/16 against Swin-T (global against windowed attention), with ResNet-50 and ConvNeXt-T as CNNs."""

MACS_HOW = N_(
    "MACs counted on the meta device (no weights, no memory) with torch's FLOP formulas for every matrix "
    "product and convolution the forward pass runs, batch 1; 1 MAC = 2 FLOPs."
)
ATTENTION_HOW = N_(
    "Attention MACs: batched products of two activations (bmm and fused attention kernels), i.e. QKᵀ and AV."
)
ELEMENTWISE_HOW = N_(
    "Element-wise operations (activations, normalisation, softmax, additions, pooling, copies): one per "
    "output element of every operation that is neither a matrix product nor a convolution; not MACs."
)
MEMORY_HOW = N_(
    "Peak activation memory: the most bytes held at once by the tensors the forward pass creates (the input "
    "included, the weights not), batch 1, inference, followed tensor by tensor on the meta device, with "
    "attention computed step by step (its tokens × tokens score matrix held); fused attention kernels "
    "(FlashAttention) never hold that matrix, which the measurement on a GPU shows."
)
LATENCY_HOW = N_(
    "Latency: median of timed forward passes at batch 1 after a warm-up, on {device}, with stand-in random "
    "weights (the values do not change the time)."
)

HOW_COUNTED = N_(
    "parameters, MACs and memory counted on the model built at this size and width, on the meta device"
)
HOW_TIMED = N_("latency: median of {runs} timed forward passes at batch 1 on {device}, stand-in weights")

_ATTENTION_OPS = frozenset(
    key for key in flop_registry if "bmm" in str(key) or "attention" in str(key) or "flash" in str(key)
)
_CONV_OPS = frozenset(key for key in flop_registry if "conv" in str(key))


class ScalingError(CvvizError, ValueError):
    """An input size or width multiplier a model cannot be built or run with."""


@dataclass(frozen=True)
class CostCounts:
    """What one forward pass of one input costs, counted on the meta device.

    ``macs`` = ``attention_macs`` + ``conv_macs`` + ``linear_macs``. ``elementwise_ops`` is one per output
    element of the other operations (see :data:`ELEMENTWISE_HOW`); ``activation_bytes`` the peak bytes of
    live tensors the pass created (see :data:`MEMORY_HOW`).
    """

    params: int
    macs: int
    attention_macs: int
    conv_macs: int
    linear_macs: int
    elementwise_ops: int
    activation_bytes: int


class _CostCounter(TorchDispatchMode):
    """Files every operation's MACs by kind and follows the bytes of the tensors created (until freed)."""

    def __init__(self) -> None:
        super().__init__()
        self.macs = {"attention": 0, "conv": 0, "linear": 0}
        self.elementwise = 0
        self.live = 0
        self.peak = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func._overloadpacket
        formula = flop_registry.get(packet)
        fresh = all(result.alias_info is None for result in func._schema.returns)
        outputs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)] if fresh else []
        if formula is not None:
            kind = "attention" if packet in _ATTENTION_OPS else "conv" if packet in _CONV_OPS else "linear"
            self.macs[kind] += formula(*args, **kwargs, out_val=out) // 2
        else:
            self.elementwise += sum(t.numel() for t in outputs)
        for tensor in outputs:
            storage = tensor.untyped_storage()
            size = storage.nbytes()
            self.live += size
            self.peak = max(self.peak, self.live)
            weakref.finalize(storage, self._freed, size)
        return out

    def _freed(self, size: int) -> None:
        self.live -= size


@contextlib.contextmanager
def _norms_as_new_tensors(model: nn.Module) -> Iterator[None]:
    """On the meta device, run normalisation layers as ``empty_like``: a new tensor of their output's shape
    (what memory and the element-wise count see) without their slow meta decompositions (no MACs either
    way; see :func:`cvviz.measure.complexity._norms_as_identity`)."""
    norms = [m for m in model.modules() if isinstance(m, _SHAPE_PRESERVING_NORMS)]
    for module in norms:
        module.forward = _fresh_like
    try:
        yield
    finally:
        for module in norms:
            del module.forward


def _fresh_like(x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    """A new contiguous tensor of ``x``'s shape, as a normalisation's kernel returns (``empty_like`` would
    keep a permuted input's strides and make the next layer copy it)."""
    return torch.empty(x.shape, dtype=x.dtype, device=x.device)


def count_costs(model: nn.Module, input_shape: tuple[int, ...]) -> CostCounts:
    """Count ``model``'s costs for one input of ``input_shape`` (with batch dimension), on the device its
    parameters live on (the meta device for counting without memory)."""
    device = next(model.parameters()).device
    counter = _CostCounter()
    shortcut = _norms_as_new_tensors(model) if device.type == "meta" else contextlib.nullcontext()
    with torch.no_grad(), shortcut, counter:
        output = model(torch.zeros(input_shape, device=device))
        del output
    return CostCounts(
        params=sum(p.numel() for p in model.parameters()),
        macs=sum(counter.macs.values()),
        attention_macs=counter.macs["attention"],
        conv_macs=counter.macs["conv"],
        linear_macs=counter.macs["linear"],
        elementwise_ops=counter.elementwise,
        activation_bytes=counter.peak,
    )


@dataclass(frozen=True)
class ScalingRow(CostCounts):
    """One (model, input size, width) point: its :class:`CostCounts`, plus ``tokens``, what the first
    attention sees (None for a CNN); ``note``, what was changed to build the model at this size; ``how``,
    what was measured and how.
    Live fields are None until :func:`measure_latency` fills them; ``measured_activation_bytes`` only on
    CUDA (``torch.cuda.max_memory_allocated`` above what was allocated before the pass)."""

    model: str = ""
    title: str = ""
    family: str = ""
    size: int = 0
    width: float = 1.0
    tokens: int | None = None
    note: str = ""
    how: str = ""
    latency_ms: float | None = None
    latency_p10_ms: float | None = None
    latency_p90_ms: float | None = None
    runs: int | None = None
    device: str | None = None
    measured_activation_bytes: int | None = None
    error: str | None = None

    @property
    def pixels(self) -> int:
        return self.size * self.size

    def to_record(self) -> dict:
        """A flat dict for JSON or CSV (None stays None), the point's identity first, then its counts."""
        record = asdict(self)
        first = ("model", "title", "family", "size", "width", "tokens")
        return {key: record[key] for key in first} | {k: v for k, v in record.items() if k not in first}


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"224, 320 448"`` → ``(224, 320, 448)``: sorted, without repeats; a bad entry is one sentence."""
    sizes = set()
    for part in text.replace(",", " ").split():
        if not part.isdigit():
            raise ScalingError(_("Input sizes are whole numbers of pixels, not {part!r}.").format(part=part))
        sizes.add(int(part))
    if not sizes:
        raise ScalingError(_("Give at least one input size, e.g. 224, 320, 448."))
    return tuple(sorted(sizes))


def parse_widths(text: str) -> tuple[float, ...]:
    """``"1.0,0.5"`` → ``(1.0, 0.5)`` in the order given, without repeats."""
    widths: list[float] = []
    for part in text.replace(",", " ").split():
        try:
            value = float(part)
        except ValueError:
            raise ScalingError(
                _("Width multipliers are numbers such as 0.5, not {part!r}.").format(part=part)
            ) from None
        if value not in widths:
            widths.append(value)
    if not widths:
        raise ScalingError(_("Give at least one width multiplier, e.g. 1.0."))
    return tuple(widths)


def scaled_spec(spec: ModelSpec, size: int, width: float = 1.0) -> ModelSpec:
    """``spec`` rebuilt for size×size inputs and width multiplier ``width``; checked first."""
    family = get_family(spec)
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ScalingError(
            _("Input sizes run from {low} to {high} pixels, not {size}.").format(
                low=MIN_SIZE, high=MAX_SIZE, size=size
            )
        )
    step = family.size_step(spec)
    if size % step:
        raise ScalingError(
            _(
                "{title} takes input sizes that are a multiple of {step} (its patches or windows must tile "
                "the image), not {size}."
            ).format(title=spec.title, step=step, size=size)
        )
    kwargs = dict(spec.architecture_kwargs)
    kwargs.update(family.sized_kwargs(spec, size))
    if width != 1.0:
        if not 0.05 <= width <= 4.0:
            raise ScalingError(_("Width multipliers run from 0.05 to 4, not {width}.").format(width=width))
        widened = family.width_kwargs(spec, width)
        if widened is None:
            raise ScalingError(
                _("{title} has no width multiplier; the MobileNets have one.").format(title=spec.title)
            )
        kwargs.update(widened)
    preprocessing = replace(
        spec.preprocessing, crop_size=size, resize_size=max(size, spec.preprocessing.resize_size)
    )
    return replace(spec, architecture_kwargs=kwargs, preprocessing=preprocessing)


_COUNTING = threading.Lock()


@functools.lru_cache(maxsize=8)
def _meta_model(name: str, kwargs: tuple) -> nn.Module:
    """The architecture on meta for these keyword arguments: a CNN's serves every input size."""
    return build_on_meta(replace(get_spec(name), architecture_kwargs=dict(kwargs)))


@functools.cache
def _counts_at(name: str, size: int, width: float) -> CostCounts:
    """Cached: the counts depend on the architecture only."""
    spec = get_spec(name)
    scaled = scaled_spec(spec, size, width)
    try:
        # One count at a time: the cached meta models are shared, and counting swaps their norms' forward.
        with _COUNTING:
            model = _meta_model(name, tuple(sorted(scaled.architecture_kwargs.items())))
            return count_costs(model, (1, *scaled.input_shape))
    except (RuntimeError, ValueError, AssertionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ScalingError(
            _("{title} does not run on {size}×{size} inputs: {reason}").format(
                title=spec.title, size=size, reason=reason
            )
        ) from exc


def cost_at(name: str, size: int, width: float = 1.0) -> ScalingRow:
    """Counts for catalog model ``name`` at size×size and width multiplier ``width``, on the meta device."""
    spec = get_spec(name)
    counts = _counts_at(spec.name, int(size), float(width))
    return ScalingRow(
        model=spec.name,
        title=spec.title,
        family=spec.family,
        size=size,
        width=width,
        tokens=get_family(spec).tokens(spec, size),
        note=get_family(spec).size_note(spec, size),
        how=_(HOW_COUNTED),
        **asdict(counts),
    )


SweepProgress = Callable[[int, int, str], None]


def sweep(
    names: Iterable[str],
    sizes: Sequence[int],
    widths: Sequence[float] = (1.0,),
    progress: SweepProgress | None = None,
) -> list[ScalingRow]:
    """One :class:`ScalingRow` per (model, width, size), in that order; ``progress(done, total, name)``."""
    points = [(get_spec(n).name, w, s) for n in names for w in widths for s in sorted(set(sizes))]
    rows = []
    for done, (name, width, size) in enumerate(points):
        if progress is not None:
            progress(done, len(points), name)
        rows.append(cost_at(name, size, width))
    if progress is not None:
        progress(len(points), len(points), "")
    return rows


@dataclass(frozen=True)
class Slope:
    """The exponent b of cost ∝ xᵇ fitted by least squares on log–log axes over ``points`` sizes.

    ``part`` is ``"attention"`` or ``"total"`` (MACs); ``against`` is ``"tokens"`` for a transformer (what
    its first attention sees) or ``"pixels"`` for a CNN.
    """

    model: str
    title: str
    width: float
    part: str
    against: str
    slope: float
    points: int


def fit_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of log(y) against log(x); needs two distinct x and positive values."""
    if len(set(xs)) < 2 or min(xs) <= 0 or min(ys) <= 0:
        raise ValueError("a log-log slope needs two distinct positive x and positive y")
    slope, _intercept = np.polyfit(np.log(xs), np.log(ys), 1)
    return float(slope)


def fitted_slopes(rows: Sequence[ScalingRow]) -> list[Slope]:
    """The slope of total and (where there is any) attention MACs of each (model, width) over its sizes."""
    slopes = []
    groups: dict[tuple[str, float], list[ScalingRow]] = {}
    for row in rows:
        groups.setdefault((row.model, row.width), []).append(row)
    for (model, width), members in groups.items():
        if len({r.size for r in members}) < 2:
            continue
        against = "tokens" if all(r.tokens for r in members) else "pixels"
        xs = [r.tokens if against == "tokens" else r.pixels for r in members]
        parts = [("total", [r.macs for r in members])]
        if all(r.attention_macs > 0 for r in members):
            parts.insert(0, ("attention", [r.attention_macs for r in members]))
        for part, ys in parts:
            slopes.append(
                Slope(model, members[0].title, width, part, against, fit_slope(xs, ys), len(members))
            )
    return slopes


def estimate_latency_seconds(
    rows: Sequence[ScalingRow], device: str | torch.device, *, runs: int, budget_s: float
) -> float:
    """Roughly how long :func:`measure_latency` will take on ``device``, before anything is timed."""
    speed = seconds_per_mac(str(resolve_device(device)))
    return sum(
        0.3 + estimate_seconds(row.macs, speed, runs=runs, warmup=1, budget_s=budget_s) for row in rows
    )


def measure_latency(
    rows: Sequence[ScalingRow],
    device: str | torch.device | None = None,
    *,
    runs: int = 10,
    budget_s: float | None = 1.0,
    reporter: Reporter | None = None,
) -> list[ScalingRow]:
    """``rows`` with latency at batch 1 timed on ``device`` (and, on CUDA, the measured activation peak).

    Each point runs a model built at its size and width with stand-in random weights
    (:func:`cvviz.models.build.build_for_timing`), released afterwards. A failure (out of memory, say)
    is recorded in that row's ``error`` and the run goes on; ``reporter`` reports progress and stops it.
    """
    target = resolve_device(device)
    label = describe_device(target)
    measured = []
    for done, row in enumerate(rows):
        if reporter is not None:
            reporter.update(
                done / max(len(rows), 1),
                _("Timing {title} at {size}×{size} ({done}/{total})").format(
                    title=row.title, size=row.size, done=done + 1, total=len(rows)
                ),
            )
        measured.append(_timed(row, target, label, runs, budget_s))
    if reporter is not None:
        reporter.update(1.0, _("Done"))
    return measured


def _timed(
    row: ScalingRow, device: torch.device, label: str, runs: int, budget_s: float | None
) -> ScalingRow:
    try:
        live = _time_point(row, device, runs, budget_s)
        timed = _(HOW_TIMED).format(runs=live["runs"], device=label)
        return replace(row, device=label, how=f"{row.how}; {timed}", **live)
    except (RuntimeError, CvvizError) as exc:  # out of memory (CUDA's is a RuntimeError) and the like
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return replace(
            row,
            device=label,
            error=_("Timing {title} at {size}×{size} failed: {reason}").format(
                title=row.title, size=row.size, reason=reason
            ),
        )
    finally:
        if device.type == "cuda":
            torch.cuda.empty_cache()


def _time_point(row: ScalingRow, device: torch.device, runs: int, budget_s: float | None) -> dict:
    """The live fields of ``row``, timed on a stand-in model that is released on return."""
    spec = scaled_spec(get_spec(row.model), row.size, row.width)
    model = build_for_timing(spec).to(device)
    batch = torch.randn((1, *spec.input_shape), device=device)

    def forward() -> object:
        with torch.inference_mode():
            return model(batch)

    measured_bytes = None
    if device.type == "cuda":
        forward()
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        forward()
        torch.cuda.synchronize(device)
        # The input is allocated before; the meta count includes it, so it is added back here.
        measured_bytes = (
            torch.cuda.max_memory_allocated(device) - before + batch.numel() * batch.element_size()
        )
    stats = time_forward(forward, device, runs=runs, warmup=1, budget_s=budget_s)
    return {
        "latency_ms": stats.median_ms,
        "latency_p10_ms": stats.p10_ms,
        "latency_p90_ms": stats.p90_ms,
        "runs": stats.runs,
        "measured_activation_bytes": measured_bytes,
    }


def latency_job(
    rows: Sequence[ScalingRow],
    device: str | torch.device | None = None,
    *,
    runs: int = 10,
    budget_s: float = 1.0,
) -> Job[list[ScalingRow]]:
    """:func:`measure_latency` as a job (progress, time left, stop), estimated before it starts."""
    rows = list(rows)
    target = resolve_device(device)

    def work(reporter: Reporter) -> list[ScalingRow]:
        return measure_latency(rows, target, runs=runs, budget_s=budget_s, reporter=reporter)

    estimate = estimate_latency_seconds(rows, target, runs=runs, budget_s=budget_s)
    return Job(_("Timing"), work, estimate_s=estimate)
