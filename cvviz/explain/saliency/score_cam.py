"""Score-CAM: each channel weighted by the class score of the image masked with that channel's upsampled map,
without gradients (Wang et al. 2020, "Score-CAM: Score-Weighted Visual Explanations for Convolutional Neural
Networks"); from the grad-cam library. One forward pass per channel: slow on large layers."""

from __future__ import annotations

from cvviz.explain.saliency.library_cam import LibraryCam


class ScoreCam(LibraryCam):
    name = "score_cam"
    title = "Score-CAM"
    paper = "Wang et al. 2020"
    per_channel = True
    cam_class = "ScoreCAM"


METHOD = ScoreCam()
