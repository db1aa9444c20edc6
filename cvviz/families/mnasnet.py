"""MNASNet (Tan et al. 2018): architecture search for accuracy and measured phone latency."""

from __future__ import annotations

from cvviz.catalog.schema import ModelSpec
from cvviz.catalog.torchvision_meta import torchvision_spec
from cvviz.families.base import Family

STAGES = ("layers.7", "layers.8", "layers.9", "layers.11", "layers.16")


class MNASNet(Family):
    name = "MNASNet"
    signature_needs_complexity = True  # the generic block reads the heaviest module

    def entries(self) -> list[ModelSpec]:
        return [
            torchvision_spec(
                f"mnasnet{width}", f"MNASNet {width.replace('_', '.')}", self.name, "mnasnet", STAGES
            )
            for width in ("0_5", "0_75", "1_0", "1_3")
        ]


FAMILY = MNASNet()
