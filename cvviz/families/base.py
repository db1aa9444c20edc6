"""The family plug-in: everything cvviz knows about one family of backbones, in one object.

A family module (``cvviz/families/resnet.py``) subclasses :class:`Family`, lists its catalog entries and
overrides only what differs from a plain CNN classifier. Pages and analyses ask the family (through
``cvviz.catalog.get_family(spec)``) and never branch on family or kind names themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

from torch import nn

from cvviz.architecture.signature import SignatureBlock, generic_signature
from cvviz.catalog.schema import ModelSpec
from cvviz.i18n import _
from cvviz.layouts import GridLayout
from cvviz.measure.complexity import Complexity

AttentionView = Literal["global", "windows"]
"""``global``: every token attends to every token (ViT); ``windows``: shifted local windows (Swin)."""

FieldKind = Literal["convolutional", "global", "windows", "mixed"]
"""How far a unit sees: a convolutional field (computed exactly), the whole image after the first
attention, a window per stage, or convolutions mixed with attention (no single field describes it)."""


class Family:
    """A family of backbones and its answers to every family-specific question.

    Class attributes: ``name`` (as shown, e.g. ``"ResNet"``); ``attention`` (None for no self-attention
    cvviz can show); ``receptive_field``; ``signature_needs_complexity`` (the block description reads
    per-layer MACs); ``shape_note`` (a sentence on the network's shape, shown under its profile).
    """

    name: ClassVar[str] = ""
    attention: ClassVar[AttentionView | None] = None
    receptive_field: ClassVar[FieldKind] = "convolutional"
    signature_needs_complexity: ClassVar[bool] = False
    shape_note: ClassVar[str] = ""

    def entries(self) -> list[ModelSpec]:
        """The family's catalog entries, in the order the catalog lists them."""
        raise NotImplementedError

    def cam_layer(self, spec: ModelSpec) -> str:
        """Grad-CAM's default layer: the last stage's output."""
        return spec.stages[-1]

    def stage_labels(self, spec: ModelSpec) -> tuple[str, ...]:
        """What a reader calls each of ``spec.stages`` on a chart ("stem", "stage 1", …), in order; the
        module names stay in the hover. A plain CNN: the stem, then its numbered stages."""
        return (_("stem"), *(_("stage {n}").format(n=i) for i in range(1, len(spec.stages))))

    def grid_layout(self, spec: ModelSpec, layer: str) -> GridLayout | None:
        """How ``layer``'s output becomes an (N, C, H, W) grid, or None when it already is one."""
        return None

    def receptive_field_reason(self, spec: ModelSpec) -> str:
        """Why a convolutional receptive field does not describe ``spec`` ('' when it does)."""
        return ""

    def sized_kwargs(self, spec: ModelSpec, size: int) -> dict:
        """Architecture keyword arguments that build ``spec`` for size×size inputs: none for a network
        whose convolutions and global pooling take any size (most CNNs, Swin)."""
        return {}

    def size_step(self, spec: ModelSpec) -> int:
        """Input sizes must be a multiple of this (a ViT's patch size; 1 when any size works)."""
        return 1

    def size_note(self, spec: ModelSpec, size: int) -> str:
        """What changes in the model to run it at size×size instead of its native size ('' if nothing)."""
        return ""

    def tokens(self, spec: ModelSpec, size: int) -> int | None:
        """How many tokens a transformer's first attention sees for a size×size input; None for a CNN."""
        return None

    def width_kwargs(self, spec: ModelSpec, width: float) -> dict | None:
        """Architecture keyword arguments for a width multiplier (MobileNet's α); None when the family's
        builders have none."""
        return None

    def scaling_dimensions(self, spec: ModelSpec) -> tuple[int, int] | None:
        """(depth in blocks, width in channels) for families scaled by those (EfficientNet); else None."""
        return None

    def signature_block(
        self, spec: ModelSpec, model: nn.Module, complexity: Complexity | None
    ) -> SignatureBlock:
        """The block this family is known for, found in ``model`` and measured on it."""
        if complexity is None:
            raise TypeError("the generic signature block needs the model's complexity")
        return generic_signature(spec, model, complexity)

    def signature(
        self, spec: ModelSpec, model: nn.Module, complexity: Complexity | None = None
    ) -> SignatureBlock:
        """:meth:`signature_block`, counting ``complexity`` on the meta device when it is needed and not
        given; a model whose layout the family does not recognise falls back to the generic block."""
        from cvviz.measure.complexity import complexity_for_spec

        if complexity is None and self.signature_needs_complexity:
            complexity = complexity_for_spec(spec)
        try:
            return self.signature_block(spec, model, complexity)
        except (AttributeError, StopIteration, TypeError, IndexError, KeyError):
            return generic_signature(spec, model, complexity or complexity_for_spec(spec))

    def __repr__(self) -> str:
        return f"<family {self.name}>"


class TaskFamily(Family):
    """A family of task models (a backbone under a detection or segmentation head): it also says which
    modules form each part, and counts the model the way its task runs it (see :mod:`cvviz.tasks.parts`)."""

    def parts(self, spec: ModelSpec) -> Mapping[str, tuple[str, ...]]:
        """The module-name prefixes of the ``backbone``, ``neck`` and ``head`` (longest prefix wins)."""
        raise NotImplementedError

    def published_rois(self, spec: ModelSpec) -> tuple[int, int] | None:
        """(proposals, detections) a two-stage model's second stage ran on when its published MACs were
        counted; None when its cost does not depend on the image."""
        return None
