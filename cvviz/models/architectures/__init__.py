"""Backbones that torchvision lacks, written in cvviz: LeNet-5, MobileNet V1 and EfficientNet-Lite0–2."""

from cvviz.models.architectures.efficientnet_lite import (
    EfficientNetLite,
    convert_lukemelas_state_dict,
    efficientnet_lite0,
    efficientnet_lite1,
    efficientnet_lite2,
    load_packaged_lite_state_dict,
    packaged_lite_weights_path,
)
from cvviz.models.architectures.lenet import LeNet5, lenet5
from cvviz.models.architectures.mobilenet_v1 import DepthwiseSeparableConv, MobileNetV1, mobilenet_v1

__all__ = [
    "DepthwiseSeparableConv",
    "EfficientNetLite",
    "LeNet5",
    "MobileNetV1",
    "convert_lukemelas_state_dict",
    "efficientnet_lite0",
    "efficientnet_lite1",
    "efficientnet_lite2",
    "lenet5",
    "load_packaged_lite_state_dict",
    "mobilenet_v1",
    "packaged_lite_weights_path",
]
