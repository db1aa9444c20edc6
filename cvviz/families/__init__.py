"""Family plug-ins, one module per family, in the order of the story the app tells.

Adding a family is one module here (its catalog entries and its answers to the questions of
:class:`cvviz.families.base.Family`) plus its line below, and its tests.
"""

from cvviz.families import (
    alexnet,
    convnext,
    densenet,
    detection,
    dino,
    efficientnet,
    inception,
    lenet,
    mae,
    maxvit,
    mnasnet,
    mobilenet,
    regnet,
    resnet,
    segmentation,
    shufflenet,
    squeezenet,
    swin,
    vgg,
    vit,
)
from cvviz.families.base import Family

FAMILIES: tuple[Family, ...] = (
    lenet.FAMILY,
    alexnet.FAMILY,
    vgg.FAMILY,
    inception.FAMILY,
    resnet.FAMILY,
    densenet.FAMILY,
    squeezenet.FAMILY,
    mobilenet.FAMILY,
    shufflenet.FAMILY,
    mnasnet.FAMILY,
    efficientnet.FAMILY,
    regnet.FAMILY,
    vit.FAMILY,
    swin.FAMILY,
    convnext.FAMILY,
    maxvit.FAMILY,
    detection.FAMILY,
    segmentation.FAMILY,
    dino.FAMILY,
    mae.FAMILY,
)

__all__ = ["FAMILIES", "Family"]
