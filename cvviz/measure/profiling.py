"""Backbones side by side: parameters, FLOPs and published accuracy, plus latency, throughput and memory
measured live on the chosen device.

Counts (:func:`count_row`) come from the persisted catalog figures, or are counted on the meta device
(:func:`cvviz.measure.complexity.count_totals`): no weights and no memory. Timing (:func:`profile_models`,
with :mod:`cvviz.measure.timing`) runs the shared model when its trained weights are on disk, else a
stand-in with random values; values do not change the time, so accuracy here is always the *published*
figure, named with its source; :mod:`cvviz.measure.evaluation` measures it.

Convention: 1 MAC = 2 FLOPs. Achieved TFLOP/s = FLOPs per image × batch / seconds per batch, compared with
the device's peak dense throughput where the device is in :data:`PEAK_TFLOPS`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace

import torch

from cvviz.catalog.registry import get_spec
from cvviz.catalog.schema import ModelSpec
from cvviz.device import describe_device, resolve_device
from cvviz.errors import CvvizError
from cvviz.i18n import N_, _, translate_filled
from cvviz.measure.catalog_figures import persisted_summaries
from cvviz.measure.complexity import count_totals
from cvviz.measure.timing import Dtype, measure_model
from cvviz.models.build import build_for_timing, build_on_meta
from cvviz.models.weights import cached_weights_path, expected_size_bytes
from cvviz.models.workbench import Workbench

ProfileProgress = Callable[[int, int, str], None]
"""Called as ``progress(done, total, model_name)`` before each model and once more at the end."""

FLOPS_NOTE = N_("FLOPs = 2 × MACs at the native input size, batch 1; not counted: {what}.")
"""Shown as ``_(FLOPS_NOTE).format(what=_(NOT_COUNTED))``."""


PUBLISHED_CHECKPOINT = N_("published checkpoint")
COMPUTED_STATE_DICT = N_("computed state_dict (fp32)")
PUBLISHED_PARAMS_NOTE = N_(
    "torchvision publishes {published} parameters, which include training-only heads (auxiliary "
    "classifier); {params} is the inference-time count of the model as built here."
)
"""Where a row's ``weight_bytes`` comes from, and its note: kept in English in the (cached, shared) rows and
in JSON; :func:`translate_row_note` and ``_()`` show them in the reader's language."""


def translate_row_note(note: str) -> str:
    """A :class:`ProfileRow` note in the current language."""
    return translate_filled(note, (PUBLISHED_PARAMS_NOTE,))


@dataclass(frozen=True)
class ProfileRow:
    """One model's row in the comparison. Counts are per image at the native input size (batch 1).

    ``weight_bytes`` is the published checkpoint size when ``weight_bytes_source`` is ``"published
    checkpoint"`` (torchvision's ``_file_size``), else the computed size of the state_dict's tensors.
    ``acc1``/``acc5`` are published figures (percent) named by ``accuracy_source``, never measured here.
    Live fields (``latency_*``, ``throughput``, ``peak_memory_bytes``, ``tflops``, ``peak_share``) are
    None when not measured; ``error`` holds the sentence when measuring failed (e.g. out of memory).
    """

    model: str
    title: str
    family: str
    year: int
    params: int
    macs: int
    flops: int
    input_size: int
    weight_bytes: int
    weight_bytes_source: str
    acc1: float | None
    acc5: float | None
    accuracy_source: str | None
    note: str = ""
    device: str | None = None
    dtype: str | None = None
    channels_last: bool | None = None
    weights: str | None = None
    batch: int | None = None
    runs: int | None = None
    latency_ms: float | None = None
    latency_p10_ms: float | None = None
    latency_p90_ms: float | None = None
    throughput: float | None = None
    peak_memory_bytes: int | None = None
    memory_note: str | None = None
    tflops: float | None = None
    peak_share: float | None = None
    error: str | None = None

    def to_record(self) -> dict:
        """A flat dict for JSON or CSV (None stays None, i.e. ``null``)."""
        return asdict(self)


def _published_note(spec: ModelSpec, params: int) -> str:
    meta = spec.torchvision_weights.meta if spec.torchvision_weights is not None else {}
    published = meta.get("num_params")
    if published is None or published == params:
        return ""
    return PUBLISHED_PARAMS_NOTE.format(published=f"{published:,}", params=f"{params:,}")


def _state_dict_bytes(spec: ModelSpec) -> int:
    model = build_on_meta(spec)
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


def _counts(spec: ModelSpec) -> tuple[int, int]:
    """(parameters, MACs): from the persisted catalog figures when they are current, else counted now."""
    persisted = {row.name: row for row in persisted_summaries() or ()}
    if spec.name in persisted:
        return persisted[spec.name].params, persisted[spec.name].macs
    if spec.task != "classification":
        from cvviz.tasks.parts import task_complexity

        complexity = task_complexity(spec)
        return complexity.params, complexity.macs
    return count_totals(build_on_meta(spec), (1, *spec.input_shape))


@functools.cache
def count_row(name: str) -> ProfileRow:
    """Counts and published figures for one catalog model; needs no weights and no memory."""
    spec = get_spec(name)
    params, macs = _counts(spec)
    published_size = expected_size_bytes(spec)
    if published_size:
        weight_bytes, weight_source = published_size, PUBLISHED_CHECKPOINT
    else:
        weight_bytes, weight_source = _state_dict_bytes(spec), COMPUTED_STATE_DICT
    accuracy = spec.published
    return ProfileRow(
        model=spec.name,
        title=spec.title,
        family=spec.family,
        year=spec.year,
        params=params,
        macs=macs,
        flops=2 * macs,
        input_size=spec.input_size,
        weight_bytes=weight_bytes,
        weight_bytes_source=weight_source,
        acc1=accuracy.top1 if accuracy else None,
        acc5=accuracy.top5 if accuracy else None,
        accuracy_source=accuracy.source if accuracy else None,
        note=_published_note(spec, params),
    )


def available_weights(spec: ModelSpec) -> str:
    """Pretrained when they are on disk already (never download to time a model), else random."""
    if spec.packaged_weights or cached_weights_path(spec) is not None:
        return "pretrained"
    return "random"


def profile_models(
    names: Iterable[str],
    *,
    measure: bool = False,
    device: str | torch.device | None = None,
    dtype: Dtype = "fp32",
    channels_last: bool = False,
    batch: int = 8,
    runs: int = 20,
    warmup: int = 3,
    throughput: bool = True,
    budget_s: float | None = None,
    cache: Workbench | None = None,
    progress: ProfileProgress | None = None,
) -> list[ProfileRow]:
    """One :class:`ProfileRow` per model, in the order given.

    Without ``measure`` only counts and published figures are filled in. With it, each model is timed on
    ``device``: the shared model from ``cache`` (a :class:`cvviz.models.workbench.Workbench`; a private
    one if None) when its pretrained weights are on disk, else a stand-in with random values that is
    released after timing (values do not change the time). ``throughput`` adds the batched runs and
    memory; ``budget_s`` bounds the seconds spent timing each. A failure for one model (a GPU out of
    memory, say) is recorded in that row's ``error`` and the run goes on.
    """
    if dtype not in ("fp32", "bf16"):
        raise CvvizError(_("Unknown dtype {dtype!r}; choose fp32 or bf16.").format(dtype=dtype))
    if batch < 1 or runs < 1:
        raise CvvizError(_("Batch size and number of runs must be at least 1."))
    names = list(names)
    target = resolve_device(device) if measure else None
    if measure and cache is None:
        cache = Workbench()
    rows = []
    for done, name in enumerate(names):
        if progress is not None:
            progress(done, len(names), name)
        row = count_row(name)
        if measure:
            timing = {"dtype": dtype, "channels_last": channels_last, "batch": batch, "runs": runs,
                      "warmup": warmup, "throughput": throughput, "budget_s": budget_s}  # fmt: skip
            row = _measured(row, cache, target, timing)
        rows.append(row)
    if progress is not None:
        progress(len(names), len(names), "")
    return rows


def _measured(row: ProfileRow, cache: Workbench, device: torch.device, timing: dict) -> ProfileRow:
    spec = get_spec(row.model)
    batch = timing["batch"]
    settings = {
        "device": describe_device(device),
        "dtype": timing["dtype"],
        "channels_last": timing["channels_last"],
        "batch": batch if timing["throughput"] else None,
    }
    try:
        weights = available_weights(spec)
        if weights == "pretrained":
            with cache.get(spec.name, weights, device=device).exclusive() as model:
                live = measure_model(model, spec.input_shape, row.flops, device, **timing)
        else:
            stand_in = build_for_timing(spec).to(device)
            live = measure_model(stand_in, spec.input_shape, row.flops, device, **timing)
            del stand_in
        return replace(row, **settings, weights=weights, **live)
    except torch.cuda.OutOfMemoryError:
        _release(device)
        return replace(
            row, **settings, error=f"The GPU ran out of memory profiling {spec.title} at batch {batch}."
        )
    except CvvizError as exc:
        _release(device)
        return replace(row, **settings, error=str(exc))
    except RuntimeError as exc:  # e.g. the CPU allocator refusing a large batch
        _release(device)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return replace(row, **settings, error=f"Profiling {spec.title} failed: {reason}")


def _release(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats: ``(cost, accuracy)`` pairs, lower cost and higher
    accuracy are better (e.g. FLOPs and top-1). Returned in order of increasing cost.

    A point is on the front when no other point has cost ≤ and accuracy ≥ with at least one strict;
    of exact duplicates only the first is kept.
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -math.inf
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front
