"""Semantic segmentation from torchvision: FCN (Long et al. 2015), DeepLabV3 (Chen et al. 2017) and
LR-ASPP (Howard et al. 2019): a backbone kept at 1/8 or 1/16 of the image by dilated convolutions, a head
that scores every class at every location, and an upsampling back to the image's size.

The published weights were trained with an auxiliary head (FCN, DeepLabV3), which their parameter count
and checkpoint include: the entries build it too, and it is counted with the head.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import torchvision.models as tvm

from cvviz.catalog.schema import IMAGENET_MEAN, IMAGENET_STD, ModelSpec
from cvviz.catalog.torchvision_meta import torchvision_task_spec
from cvviz.families.base import TaskFamily
from cvviz.i18n import N_

R50_STAGES = tuple(f"backbone.layer{i}" for i in range(1, 5))
MOBILE_STAGES = ("backbone.3", "backbone.6", "backbone.12", "backbone.16")

PARTS_PLAIN: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"backbone": ("backbone",), "neck": (), "head": ("classifier", "aux_classifier")}
)
PARTS_ASPP: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"backbone": ("backbone",), "neck": ("classifier.0",), "head": ("classifier", "aux_classifier")}
)


class Segmentation(TaskFamily):
    name = "Segmentation"
    shape_note = N_(
        "The backbone keeps a coarse map of the image; the head scores every class at every location, and "
        "the scores are upsampled to the image's size."
    )

    def entries(self) -> list[ModelSpec]:
        def spec(name, title, paper, stages, **kwargs):
            return torchvision_task_spec(
                name,
                title,
                self.name,
                paper,
                "semantic_segmentation",
                stages,
                builder=tvm.get_model_builder(name),
                input_size=520,
                mean=IMAGENET_MEAN,
                std=IMAGENET_STD,
                architecture_kwargs={"weights_backbone": None, **kwargs},
            )

        return [
            spec("fcn_resnet50", "FCN ResNet-50", "fcn", R50_STAGES, aux_loss=True),
            spec("fcn_resnet101", "FCN ResNet-101", "fcn", R50_STAGES, aux_loss=True),
            spec("deeplabv3_resnet50", "DeepLabV3 ResNet-50", "deeplabv3", R50_STAGES, aux_loss=True),
            spec("deeplabv3_resnet101", "DeepLabV3 ResNet-101", "deeplabv3", R50_STAGES, aux_loss=True),
            spec(
                "deeplabv3_mobilenet_v3_large",
                "DeepLabV3 MobileNetV3-Large",
                "deeplabv3",
                MOBILE_STAGES,
                aux_loss=True,
            ),
            spec("lraspp_mobilenet_v3_large", "LR-ASPP MobileNetV3-Large", "mobilenet_v3", MOBILE_STAGES),
        ]

    def parts(self, spec: ModelSpec) -> Mapping[str, tuple[str, ...]]:
        """The modules of each part (see :meth:`cvviz.families.detection.Detection.parts`): DeepLabV3's
        atrous spatial pyramid pooling is its neck; FCN and LR-ASPP go straight from backbone to head."""
        return PARTS_ASPP if spec.name.startswith("deeplabv3") else PARTS_PLAIN


FAMILY = Segmentation()
