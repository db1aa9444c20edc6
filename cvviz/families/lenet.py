"""LeNet-5 (LeCun et al. 1998): convolutions with shared weights and subsampling, on 32×32 digits."""

from __future__ import annotations

from torch import nn

from cvviz.architecture.signature import SignatureBlock
from cvviz.catalog.papers import PAPERS
from cvviz.catalog.schema import ModelSpec, Preprocessing
from cvviz.families.base import Family
from cvviz.families.early import large_first_filters
from cvviz.measure.complexity import Complexity
from cvviz.models.architectures.lenet import lenet5

DIGITS: tuple[str, ...] = tuple(str(digit) for digit in range(10))


class LeNet(Family):
    name = "LeNet"

    def entries(self) -> list[ModelSpec]:
        return [
            ModelSpec(
                name="lenet5",
                title="LeNet-5",
                family=self.name,
                paper=PAPERS["lenet"],
                kind="cnn",
                builder=lenet5,
                preprocessing=Preprocessing(
                    resize_size=32,
                    crop_size=32,
                    mean=(0.5,),
                    std=(0.5,),
                    interpolation="bilinear",
                    grayscale=True,
                    digit=True,
                ),
                stages=("features.1", "features.4", "features.7"),
                categories=DIGITS,
                notes="A 10-digit classifier on 32×32 grayscale input; no pretrained weights ship with it.",
            )
        ]

    def stage_labels(self, spec: ModelSpec) -> tuple[str, ...]:
        """The paper's names for the three convolutions (C1, C3, C5; S2 and S4 subsample between)."""
        return ("C1", "C3", "C5")

    def cam_layer(self, spec: ModelSpec) -> str:
        """The second stage (16×5×5): the last stage is the C5 convolution, whose 1×1 output has no
        spatial extent left for Grad-CAM to show."""
        return spec.stages[-2]

    def signature_block(
        self, spec: ModelSpec, model: nn.Module, complexity: Complexity | None
    ) -> SignatureBlock:
        return large_first_filters(spec, model)


FAMILY = LeNet()
