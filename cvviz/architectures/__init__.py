"""Backbones that torchvision lacks, written in cvviz: LeNet-5, MobileNet V1 and EfficientNet-Lite0."""

from cvviz.architectures.efficientnet_lite import (
    EfficientNetLite,
    convert_lukemelas_state_dict,
    efficientnet_lite0,
    load_packaged_lite0_state_dict,
    packaged_lite0_weights_path,
)
from cvviz.architectures.lenet import LeNet5, lenet5
from cvviz.architectures.mobilenet_v1 import DepthwiseSeparableConv, MobileNetV1, mobilenet_v1

__all__ = [
    "DepthwiseSeparableConv",
    "EfficientNetLite",
    "LeNet5",
    "MobileNetV1",
    "convert_lukemelas_state_dict",
    "efficientnet_lite0",
    "lenet5",
    "load_packaged_lite0_state_dict",
    "mobilenet_v1",
    "packaged_lite0_weights_path",
]
