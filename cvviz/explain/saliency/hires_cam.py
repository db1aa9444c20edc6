"""HiRes-CAM: activations times gradients element-wise, summed over channels: unlike Grad-CAM it never
averages gradients over positions, so the map shows what the score provably depends on (Draelos & Carin
2020, "Use HiResCAM instead of Grad-CAM for faithful explanations of convolutional neural networks");
from the grad-cam library."""

from __future__ import annotations

from cvviz.explain.saliency.library_cam import LibraryCam


class HiResCam(LibraryCam):
    name = "hires_cam"
    title = "HiRes-CAM"
    paper = "Draelos & Carin 2020"
    cam_class = "HiResCAM"


METHOD = HiResCam()
