"""Self-supervised backbones: MAE's masked reconstructions, DINO's attention, and k-NN on their features.

The models themselves (DINO, DINOv2, DeiT, MAE) are catalog entries of the ``self_supervised`` task,
their checkpoints and key renaming with their families (:mod:`cvviz.families.dino`,
:mod:`cvviz.families.mae`); this package holds the methods run on them:

* :mod:`.models` — the catalog's self-supervised entries, and how to fetch their weights;
* :mod:`.mae` — masking, patchify/unpatchify, the MAE loss, the paper's four panels;
* :mod:`.dino` — the last layer's [CLS] attention per head and the attention-mass masks;
* :mod:`.knn` — the weighted k-NN classifier of DINO's evaluation, on any backbone's features.
"""
