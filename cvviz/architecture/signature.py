"""Signature blocks: the building block a family is known for, found in the built model and measured on it.

The dataclasses and the helpers every family uses live here; each family's own block is described by
its plug-in in :mod:`cvviz.families` (``Family.signature_block``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from torch import nn

from cvviz.architecture.layers import group_layers
from cvviz.catalog.schema import ModelSpec
from cvviz.i18n import N_
from cvviz.measure.complexity import Complexity


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


def numel(module: nn.Module) -> int:
    """Parameters held by ``module`` and its children."""
    return sum(p.numel() for p in module.parameters())


def conv_layers(module: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    """Every ``nn.Conv2d`` under ``module`` with its qualified name, in module order."""
    return [(name, m) for name, m in module.named_modules() if isinstance(m, nn.Conv2d)]


def expands(block: nn.Module) -> bool:
    """Whether an inverted-residual block opens with a 1×1 expansion (not directly with the depthwise)."""
    found = conv_layers(block)
    return len(found) >= 3 and found[0][1].groups == 1 and found[0][1].out_channels > found[0][1].in_channels


def first_of_type(model: nn.Module, type_names: Sequence[str]) -> tuple[str, nn.Module] | None:
    """The first module whose class is named in ``type_names``, with its qualified name (None if none)."""
    for name, module in model.named_modules():
        if type(module).__name__ in type_names:
            return name, module
    return None


def generic_signature(spec: ModelSpec, model: nn.Module, complexity: Complexity) -> SignatureBlock:
    """For a family without a block of its own: the first conv and the heaviest top-level module."""
    top = max((g for g in group_layers(complexity, 0) if g.name != "(model)"), key=lambda g: g.macs)
    conv_name, conv = conv_layers(model)[0]
    facts = (
        Fact(
            N_("first conv"),
            f"{conv.kernel_size[0]}×{conv.kernel_size[1]} stride {conv.stride[0]}",
            conv_name,
        ),
        Fact(N_("first conv weights"), conv.weight.numel(), "weight.numel()"),
        Fact(N_("heaviest top-level module"), top.name, "largest MACs at depth 0"),
        Fact(N_("its params"), top.params, "sum of its modules' numel()"),
    )
    return SignatureBlock(spec.title, top.name, spec.key_idea, facts)
