"""What an optimisation maximises: one channel of a layer, one class logit, or a direction in a layer's
channel space (Olah et al. 2017, "Feature Visualization", the "optimization objectives" figure), and the
diversity term that pushes several images of one objective apart.

Every objective is read from one batch element, so a batch of images can serve a batch of objectives in
one optimisation (image ``b`` maximises objective ``b``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from cvviz.errors import CvvizError
from cvviz.i18n import _

ObjectiveKind = Literal["channel", "logit", "direction"]
OBJECTIVE_KINDS: tuple[str, ...] = ("channel", "logit", "direction")


class NeuronError(CvvizError, ValueError):
    """A feature-visualisation request that cannot be met (bad channel, layer, setting or folder)."""


@dataclass(frozen=True)
class Objective:
    """One thing to maximise.

    ``channel``: the mean over positions of channel ``index`` of ``layer``'s (N, C, H, W) output;
    ``logit``: the model's output ``index`` (``layer`` is None); ``direction``: the mean over positions of
    the layer's channels weighted by ``direction`` (one weight per channel, normalised to unit length).
    ``variant`` tells apart several images of the same objective (diversity).
    """

    kind: ObjectiveKind
    index: int = 0
    layer: str | None = None
    direction: tuple[float, ...] | None = None
    variant: int = 0

    @classmethod
    def channel(cls, layer: str, index: int, variant: int = 0) -> Objective:
        return cls("channel", int(index), layer, None, variant)

    @classmethod
    def logit(cls, index: int, variant: int = 0) -> Objective:
        return cls("logit", int(index), None, None, variant)

    @classmethod
    def along(cls, layer: str, direction: Sequence[float], variant: int = 0) -> Objective:
        return cls("direction", 0, layer, tuple(float(v) for v in direction), variant)

    @property
    def label(self) -> str:
        """How the objective is named on screen: "layer4 #12", "logit #281", "layer4 direction"."""
        if self.kind == "logit":
            return _("logit #{index}").format(index=self.index)
        if self.kind == "direction":
            return _("{layer} direction").format(layer=self.layer)
        return _("{layer} #{index}").format(layer=self.layer, index=self.index)

    def seed(self, seed: int) -> int:
        """The seed of this objective's starting noise: the same whatever else shares its batch."""
        return (seed * 1_000_003 + self.index * 7_919 + self.variant * 104_729) % (2**31)


def check_objectives(objectives: Sequence[Objective]) -> str | None:
    """The one layer all ``objectives`` read (None: the model's output); raises one sentence otherwise."""
    if not objectives:
        raise NeuronError(_("Choose at least one channel or class to visualise."))
    layers = {o.layer for o in objectives}
    if len(layers) != 1:
        raise NeuronError(_("One optimisation reads one layer; these objectives read several."))
    for objective in objectives:
        if objective.kind not in OBJECTIVE_KINDS:
            raise NeuronError(
                _("Unknown objective {kind!r}; choose one of: {value}.").format(
                    kind=objective.kind, value=", ".join(OBJECTIVE_KINDS)
                )
            )
        if (objective.kind == "logit") != (objective.layer is None):
            raise NeuronError(_("A class logit is read from the output; a channel needs a layer."))
    return layers.pop()


def objective_values(objectives: Sequence[Objective], output: torch.Tensor) -> torch.Tensor:
    """(B,) the value of objective ``b`` on batch element ``b`` of ``output``: (B, C, H, W) for layer
    objectives, (B, K) logits for class objectives. An index outside the output raises one sentence."""
    width = output.shape[1]
    values = []
    for b, objective in enumerate(objectives):
        if objective.kind == "direction":
            weights = torch.tensor(objective.direction, dtype=output.dtype, device=output.device)
            if weights.numel() != width:
                raise NeuronError(
                    _("The direction has {count} weights but the layer has {channels} channels.").format(
                        count=weights.numel(), channels=width
                    )
                )
            weights = weights / weights.norm().clamp_min(1e-12)
            values.append((output[b] * weights.view(-1, *([1] * (output.dim() - 2)))).sum(0).mean())
            continue
        if not 0 <= objective.index < width:
            if objective.kind == "logit":
                sentence = _("There is no class {index}; choose 0–{last}.")
            else:
                sentence = _("There is no channel {index}; choose 0–{last}.")
            raise NeuronError(sentence.format(index=objective.index, last=width - 1))
        values.append(output[b, objective.index].mean())
    return torch.stack(values)


def diversity_penalty(activations: torch.Tensor) -> torch.Tensor:
    """The mean cosine similarity between the Gram matrices of different batch elements' (B, C, H, W)
    activations (Lucid's ``diversity`` objective): subtracting it pushes the images apart in style."""
    batch = activations.shape[0]
    if batch < 2:
        return activations.new_zeros(())
    flat = activations.flatten(2)
    grams = torch.bmm(flat, flat.transpose(1, 2)).flatten(1)
    grams = grams / grams.norm(dim=1, keepdim=True).clamp_min(1e-12)
    similarity = grams @ grams.T
    return (similarity.sum() - similarity.diagonal().sum()) / (batch * (batch - 1))
