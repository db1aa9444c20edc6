"""AlexNet (Krizhevsky et al. 2012): the deep CNN trained on GPUs that won ImageNet."""

from __future__ import annotations

from torch import nn

from cvviz.architecture.signature import SignatureBlock
from cvviz.catalog.schema import ModelSpec
from cvviz.catalog.torchvision_meta import torchvision_spec
from cvviz.families.base import Family
from cvviz.families.early import large_first_filters
from cvviz.measure.complexity import Complexity


class AlexNet(Family):
    name = "AlexNet"

    def entries(self) -> list[ModelSpec]:
        return [
            torchvision_spec(
                "alexnet", "AlexNet", self.name, "alexnet", ("features.1", "features.4", "features.11")
            )
        ]

    def stage_labels(self, spec: ModelSpec) -> tuple[str, ...]:
        """The stages are the first, second and fifth convolution's activations."""
        return ("conv1", "conv2", "conv5")

    def signature_block(
        self, spec: ModelSpec, model: nn.Module, complexity: Complexity | None
    ) -> SignatureBlock:
        return large_first_filters(spec, model)


FAMILY = AlexNet()
