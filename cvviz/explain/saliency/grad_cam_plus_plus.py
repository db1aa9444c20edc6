"""Grad-CAM++: Grad-CAM's channel weights from positive second-order gradients, so that several instances of a
class all show (Chattopadhyay et al. 2018, "Grad-CAM++: Improved Visual Explanations for Deep Convolutional
Networks"); from the grad-cam library."""

from __future__ import annotations

from cvviz.explain.saliency.library_cam import LibraryCam


class GradCamPlusPlus(LibraryCam):
    name = "grad_cam_plus_plus"
    title = "Grad-CAM++"
    paper = "Chattopadhyay et al. 2018"
    cam_class = "GradCAMPlusPlus"


METHOD = GradCamPlusPlus()
