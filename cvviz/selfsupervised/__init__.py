"""Self-supervised backbones: MAE's masked reconstructions, DINO's attention, and k-NN on their features.

* :mod:`.checkpoints` — the published DINO, MAE and DeiT checkpoints, their architectures, and loading
  them through cvviz's weights mechanism (DINO and DeiT onto torchvision's ViT);
* :mod:`.mae` — masking, patchify/unpatchify, the MAE model and loss, the paper's four panels;
* :mod:`.dino` — the last layer's [CLS] attention per head and the attention-mass masks;
* :mod:`.knn` — the weighted k-NN classifier of DINO's evaluation, on any backbone's features.
"""

from cvviz.selfsupervised.checkpoints import (
    MODELS,
    SUPERVISED_TWIN,
    SelfSupervisedModel,
    VitShape,
    get_model,
    list_self_supervised,
    load_pretrained,
    timm_to_torchvision,
)

__all__ = [
    "MODELS",
    "SUPERVISED_TWIN",
    "SelfSupervisedModel",
    "VitShape",
    "get_model",
    "list_self_supervised",
    "load_pretrained",
    "timm_to_torchvision",
]
