"""Layer-CAM: activations weighted position by position by their positive gradients, which keeps fine detail
in early layers (Jiang et al. 2021, "LayerCAM: Exploring Hierarchical Class Activation Maps for
Localization"); from the grad-cam library."""

from __future__ import annotations

from cvviz.explain.saliency.library_cam import LibraryCam


class LayerCam(LibraryCam):
    name = "layer_cam"
    title = "Layer-CAM"
    paper = "Jiang et al. 2021"
    cam_class = "LayerCAM"


METHOD = LayerCam()
