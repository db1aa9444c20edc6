"""Synthetic scenes for detection and segmentation: several handwritten digits on one black canvas, with
every box and every mask known exactly.

Each digit is one of scikit-learn's bundled digits, enlarged as the training lab enlarges them, cropped to
its ink, scaled to a random height and placed at a random position where it overlaps no other digit. Its
mask is its ink (pixels at least :data:`INK_THRESHOLD` bright after scaling) and its box the tightest box
around that mask, so boxes and masks agree by construction, and a semantic map (0 background, 1 + digit for
ink) follows from them.

Scenes for training draw their digits from the training lab's training and validation digits; the
held-out scenes draw from its test digits only, so a model is scored on handwriting it has never seen.
The same seed gives the same scenes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from cvviz.i18n import _
from cvviz.training.data import DIGIT_CLASSES, stratified_split
from cvviz.training.loop import SPLIT_SEED

SCENE_SIZE = 64
"""Side of a scene, in pixels."""
MIN_HEIGHT, MAX_HEIGHT = 14, 30
"""A digit's height in a scene is drawn uniformly from this range (its width follows its aspect ratio)."""
MAX_DIGITS = 3
"""A scene holds 1 to this many digits."""
INK_THRESHOLD = 0.3
"""A scaled digit's pixel belongs to its mask when at least this bright (in [0, 1])."""
PLACEMENT_TRIES = 40
"""Random positions tried for a digit before it is left out of a crowded scene."""
CLASSES = DIGIT_CLASSES
"""Detection classes: the ten digits."""
SEGMENT_CLASSES = ("background", *DIGIT_CLASSES)
"""Segmentation classes: background (0), then each digit d as d + 1."""
HELD_OUT_SEED = 1_000
"""The held-out scenes are always the same ones, whatever seed a run trains with."""
HELD_OUT_SCENES = 200


@dataclass(frozen=True)
class Scene:
    """One scene: ``image`` (H, W) float32 in [0, 1], ink bright on black; ``boxes`` (K, 4) float32 in
    pixels as (x1, y1, x2, y2), x2 and y2 exclusive (a box covers columns x1 … x2 − 1); ``labels`` (K,)
    the digits; ``masks`` (K, H, W) bool, one per digit."""

    image: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    masks: np.ndarray

    @property
    def semantic(self) -> np.ndarray:
        """(H, W) int64: 0 for background, 1 + digit where that digit's ink is."""
        semantic = np.zeros(self.image.shape, dtype=np.int64)
        for label, mask in zip(self.labels, self.masks):
            semantic[mask] = int(label) + 1
        return semantic


@functools.lru_cache(maxsize=2)
def _digit_pool(part: str) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """The digits a scene draws from, each cropped to its ink ((h, w) float in [0, 1]), and their labels.

    ``part`` is ``"train"`` (the training lab's training and validation digits) or ``"test"`` (its test
    digits): the same stratified split, so no held-out scene shows a digit a model was trained on. The
    8×8 digits are enlarged 4× (bilinear) as the training lab enlarges them; centring is not needed, as
    each digit is cropped to its ink."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    small = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    enlarged = F.interpolate(small, scale_factor=4, mode="bilinear", align_corners=False).clamp(0, 1)
    train, val, test = stratified_split(bunch.target, SPLIT_SEED)
    chosen = np.sort(np.concatenate([train, val])) if part == "train" else test
    crops = []
    for image in enlarged[torch.as_tensor(chosen), 0].numpy():
        ink = image >= INK_THRESHOLD
        rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        crops.append(image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32))
    return tuple(crops), bunch.target[chosen].astype(np.int64)


def _scaled(crop: np.ndarray, height: int) -> np.ndarray:
    width = max(2, round(crop.shape[1] * height / crop.shape[0]))
    resized = Image.fromarray(crop).resize((width, height), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def make_scene(rng: np.random.Generator, part: str = "train", size: int = SCENE_SIZE) -> Scene:
    """One scene drawn with ``rng`` from the ``part`` digits (see the module docstring)."""
    crops, labels = _digit_pool(part)
    image = np.zeros((size, size), dtype=np.float32)
    boxes: list[tuple[int, int, int, int]] = []
    kept_labels: list[int] = []
    masks: list[np.ndarray] = []
    for _index in range(int(rng.integers(1, MAX_DIGITS + 1))):
        which = int(rng.integers(len(crops)))
        digit = _scaled(crops[which], int(rng.integers(MIN_HEIGHT, MAX_HEIGHT + 1)))
        ink = digit >= INK_THRESHOLD
        rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        digit, ink = (
            digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1],
            ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1],
        )
        height, width = ink.shape
        for _try in range(PLACEMENT_TRIES):
            top, left = int(rng.integers(0, size - height + 1)), int(rng.integers(0, size - width + 1))
            box = (left, top, left + width, top + height)
            if not any(_overlap(box, other) for other in boxes):
                break
        else:
            continue
        window = image[top : top + height, left : left + width]
        np.maximum(window, digit, out=window)
        mask = np.zeros((size, size), dtype=bool)
        mask[top : top + height, left : left + width] = ink
        boxes.append(box)
        kept_labels.append(int(labels[which]))
        masks.append(mask)
    return Scene(
        image=image,
        boxes=np.array(boxes, dtype=np.float32).reshape(-1, 4),
        labels=np.array(kept_labels, dtype=np.int64),
        masks=np.array(masks, dtype=bool).reshape(-1, size, size),
    )


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int], gap: int = 1) -> bool:
    """Whether two boxes come closer than ``gap`` pixels (touching digits would merge in a mask)."""
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap


def make_scenes(count: int, seed: int, part: str = "train", size: int = SCENE_SIZE) -> tuple[Scene, ...]:
    """``count`` scenes from the ``part`` digits (``"train"`` or ``"test"``); the same seed, the same
    scenes."""
    if part not in ("train", "test"):
        raise ValueError(_("Scenes are made from the train or test digits, not {part!r}.").format(part=part))
    rng = np.random.default_rng(seed)
    return tuple(make_scene(rng, part, size) for _index in range(count))


@functools.lru_cache(maxsize=1)
def held_out_scenes(count: int = HELD_OUT_SCENES) -> tuple[Scene, ...]:
    """The held-out set every run is scored on: scenes of test digits only, always the same ones."""
    return make_scenes(count, HELD_OUT_SEED, "test")


def stack_images(scenes: tuple[Scene, ...] | list[Scene]) -> np.ndarray:
    """The scenes' images as one (N, 1, H, W) float32 array."""
    return np.stack([scene.image for scene in scenes])[:, None]


def stack_semantic(scenes: tuple[Scene, ...] | list[Scene]) -> np.ndarray:
    """The scenes' semantic maps as one (N, H, W) int64 array."""
    return np.stack([scene.semantic for scene in scenes])
