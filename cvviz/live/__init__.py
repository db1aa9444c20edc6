"""The live camera: a video stream read by a catalog model frame by frame, with its explanation drawn.

:func:`process_frame` turns one frame (an (H, W, 3) uint8 array) into the top classes, an overlay
(Grad-CAM, one feature-map channel, or a ViT's last-layer attention) and the time each step took, using
the shared model exclusively. :class:`LatestFrameWorker` runs it in the background on the newest frame
only, so a slow model skips frames instead of falling behind; :func:`annotate` draws a result on a frame.
"""

from cvviz.live.frames import (
    OVERLAY_TITLES,
    OVERLAYS,
    FrameResult,
    FrameTimings,
    LiveOptions,
    annotate,
    crop_box,
    overlays_for,
    process_frame,
)
from cvviz.live.worker import LatestFrameWorker, LiveResult, LiveStats

__all__ = [
    "OVERLAYS",
    "OVERLAY_TITLES",
    "FrameResult",
    "FrameTimings",
    "LatestFrameWorker",
    "LiveOptions",
    "LiveResult",
    "LiveStats",
    "annotate",
    "crop_box",
    "overlays_for",
    "process_frame",
]
