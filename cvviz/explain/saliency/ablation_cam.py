"""Ablation-CAM: each channel weighted by how much the class score drops when that channel is zeroed, without
gradients (Desai & Ramaswamy 2020, "Ablation-CAM: Visual Explanations for Deep Convolutional Network via
Gradient-free Localization"); from the grad-cam library. One forward pass per channel."""

from __future__ import annotations

from cvviz.explain.saliency.library_cam import LibraryCam


class AblationCam(LibraryCam):
    name = "ablation_cam"
    title = "Ablation-CAM"
    paper = "Desai & Ramaswamy 2020"
    per_channel = True
    cam_class = "AblationCAM"
    first_passes = 2  # the plain pass, then one that records the scores it ablates from


METHOD = AblationCam()
