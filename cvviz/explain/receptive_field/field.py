"""The field algebra: a layer's receptive field, the interval a node covers, and how windows compose and
paths merge (Araujo, Norris, Sim, "Computing Receptive Fields of Convolutional Neural Networks", Distill
2019)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from cvviz.errors import CvvizError
from cvviz.i18n import N_, translate_filled


class ReceptiveFieldError(CvvizError, ValueError):
    """The receptive field cannot be computed for this model or layer (said in one sentence)."""


@dataclass(frozen=True)
class LayerField:
    """The theoretical receptive field of one module's (N, C, H, W) output, per axis (h, w).

    Unit ``(i, j)`` covers input rows ``[i*stride[0] - padding[0], … + size[0] - 1]`` and likewise columns.
    ``exact`` is False when the number is a bound or a stand-in (``note`` says why); ``global_context`` is
    True when every unit also depends on the whole image (global pooling, squeeze-and-excitation gates).
    ``output_size`` is the layer's (H, W) for the traced input size.
    """

    layer: str
    size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    exact: bool
    note: str = ""
    global_context: bool = False
    output_size: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class Field:
    """A node's field: its spatial axes and, per axis, the covered interval and the jump."""

    axes: tuple[int, int] | None  # which dims of the node's tensor are (H, W); None once they are gone
    start: tuple[int, int] = (0, 0)
    end: tuple[int, int] = (0, 0)
    jump: tuple[int, int] = (1, 1)
    local: bool = True  # the interval above is meaningful
    global_context: bool = False
    exact: bool = True
    notes: tuple[str, ...] = ()

    def noted(self, note: str, *, exact: bool | None = None) -> Field:
        notes = self.notes if note in self.notes else (*self.notes, note)
        return replace(self, notes=notes, exact=self.exact if exact is None else exact)


def pair(value: object) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        return (int(value[0]), int(value[-1]))
    return (int(value), int(value))


def window(f: Field, kernel, stride, pad_before, dilation=(1, 1)) -> Field:
    """Compose a sliding window (kernel, stride, padding before, dilation) onto the field ``f``."""
    k, s, p, d = pair(kernel), pair(stride), pair(pad_before), pair(dilation)
    start = tuple(f.start[a] - p[a] * f.jump[a] for a in range(2))
    end = tuple(f.end[a] + (d[a] * (k[a] - 1) - p[a]) * f.jump[a] for a in range(2))
    jump = tuple(f.jump[a] * s[a] for a in range(2))
    return replace(f, start=start, end=end, jump=jump)


GLOBAL_NOTE = N_("global pooling: every unit sees the whole image")
SE_NOTE = N_(
    "also sees the whole image through a global-pooling gate (squeeze-and-excitation); size is the "
    "convolutional path"
)
STRIDES_NOTE = N_("paths with different strides merge; the field is a bound")
CEIL_NOTE = N_("ceil_mode: the last unit's window may run past the padded input")
STATISTICS_NOTE = N_("normalisation statistics pool over the image")
PADDING_NOTE = N_("{mode} padding wraps or mirrors the border")
SPLIT_NOTE = N_("{op} splits the image")
RESIZE_NOTE = N_("{op} changes the spatial size in an unknown way")
NOTES = (
    GLOBAL_NOTE,
    SE_NOTE,
    STRIDES_NOTE,
    CEIL_NOTE,
    STATISTICS_NOTE,
    PADDING_NOTE,
    SPLIT_NOTE,
    RESIZE_NOTE,
)
"""Every note a field can carry. Notes are kept in English (fields are cached and shared by every
session); :func:`translate_note` shows one in the current language."""
NOTE_SEPARATOR = "; "


def translate_note(note: str) -> str:
    """A :class:`LayerField` note (notes joined by "; ") in the current language; a note cvviz does not
    know stays as it is."""
    return translate_filled(note, NOTES, NOTE_SEPARATOR)


def union(fields: Sequence[Field]) -> Field:
    """Merge paths: min start, max end; strides must agree for the merge to be exact."""
    local = [f for f in fields if f.local]
    notes = tuple(dict.fromkeys(n for f in fields for n in f.notes))
    exact = all(f.exact for f in fields)
    glob = any(f.global_context for f in fields)
    if not local:
        return Field(axes=fields[0].axes, local=False, global_context=True, exact=False, notes=notes)
    jumps = {f.jump for f in local}
    merged = Field(
        axes=local[0].axes,
        start=tuple(min(f.start[a] for f in local) for a in range(2)),
        end=tuple(max(f.end[a] for f in local) for a in range(2)),
        jump=local[0].jump,
        global_context=glob,
        exact=exact,
        notes=notes,
    )
    if len(jumps) > 1:
        merged = merged.noted(STRIDES_NOTE, exact=False)
    return merged


def global_field(f: Field | None, axes) -> Field:
    notes = f.notes if f is not None else ()
    return Field(axes=axes, local=False, global_context=True, exact=False, notes=notes).noted(GLOBAL_NOTE)
