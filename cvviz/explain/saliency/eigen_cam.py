"""Eigen-CAM: the layer's activations projected on their first principal component, with no class and no
gradient (Muhammad & Yeasin 2020, "Eigen-CAM: Class Activation Map using Principal Components"); from the
grad-cam library. The same map for every class."""

from __future__ import annotations

from cvviz.explain.saliency.library_cam import LibraryCam


class EigenCam(LibraryCam):
    name = "eigen_cam"
    title = "Eigen-CAM"
    paper = "Muhammad & Yeasin 2020"
    cam_class = "EigenCAM"


METHOD = EigenCam()
