"""One video frame through a catalog model: the top classes, an overlay that explains them, and timings.

Each frame costs what the explanation itself costs and no more: Grad-CAM (Selvaraju et al. 2017) runs the
existing :func:`~cvviz.explain.saliency.grad_cam.grad_cam_map` with a forward function that keeps the
logits and returns the top class's, so one forward and one backward pass give the prediction and its map;
a feature-map channel and a ViT's last-layer attention (Dosovitskiy et al. 2020) are read off the same
forward pass that gives the prediction, through the hooks in :mod:`cvviz.hooks` and
:mod:`cvviz.explain.attention`. The shared model is held through ``loaded.exclusive()`` for the pass only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from cvviz.catalog.registry import get_family
from cvviz.catalog.schema import ModelSpec
from cvviz.errors import CvvizError
from cvviz.explain.attention.capture import capture_attention_inputs
from cvviz.explain.attention.vit import AttentionMaps, mha_attention_probs, vit_patch_size
from cvviz.explain.saliency.base import SaliencyOptions
from cvviz.explain.saliency.grad_cam import grad_cam_map
from cvviz.explain.saliency.private_model import SaliencyModel
from cvviz.hooks import capture_outputs, resolve_layers
from cvviz.i18n import N_, _
from cvviz.layouts import to_chw
from cvviz.models.inference import Prediction, preprocess

if TYPE_CHECKING:
    from cvviz.models.workbench import LoadedModel

Overlay = Literal["grad_cam", "feature_channel", "attention"]
OVERLAYS: tuple[str, ...] = ("grad_cam", "feature_channel", "attention")
OVERLAY_TITLES = {
    "grad_cam": N_("Grad-CAM"),
    "feature_channel": N_("Feature-map channel"),
    "attention": N_("Last-layer attention"),
}


class LiveFrameError(CvvizError, ValueError):
    """A frame or a live setting the model cannot work with."""


@dataclass(frozen=True)
class LiveOptions:
    """What each frame shows: ``overlay`` (one of :data:`OVERLAYS`), the feature map's ``channel`` (None:
    the most active one of the frame), and how many classes (``topk``)."""

    overlay: Overlay = "grad_cam"
    channel: int | None = None
    topk: int = 3


@dataclass(frozen=True)
class FrameTimings:
    """Milliseconds per step of one frame: the frame to the model's input, the model (with the backward
    pass for Grad-CAM), the overlay read off it, and all of them."""

    preprocess_ms: float
    model_ms: float
    overlay_ms: float
    total_ms: float


@dataclass(frozen=True)
class FrameResult:
    """One frame's reading. ``overlay``: (h, w) float32 in [0, 1] over the model's view of the frame,
    which is ``box`` (left, top, right, bottom) in frame pixels; ``detail`` names the layer (and channel)."""

    top: tuple[Prediction, ...]
    overlay: np.ndarray
    overlay_kind: str
    detail: str
    box: tuple[int, int, int, int]
    timings: FrameTimings


def overlays_for(spec: ModelSpec) -> tuple[str, ...]:
    """The overlays ``spec`` supports: Grad-CAM and a feature channel always, attention for a ViT."""
    family = get_family(spec)
    attention = family.attention == "global" and bool(spec.attention_layers)
    return tuple(o for o in OVERLAYS if o != "attention" or attention)


def crop_box(frame_shape: tuple[int, ...], spec: ModelSpec) -> tuple[int, int, int, int]:
    """Where the model looks in a frame of ``frame_shape`` (H, W, …): the centre square its resize and
    centre crop keep, as (left, top, right, bottom) pixels (the whole frame for a digit model)."""
    height, width = int(frame_shape[0]), int(frame_shape[1])
    prep = spec.preprocessing
    if prep.digit:
        return 0, 0, width, height
    side = round(min(height, width) * min(1.0, prep.crop_size / prep.resize_size))
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def _check_frame(frame: np.ndarray) -> np.ndarray:
    if (
        not isinstance(frame, np.ndarray)
        or frame.ndim != 3
        or frame.shape[2] != 3
        or min(frame.shape[:2]) < 8
    ):
        shape = getattr(frame, "shape", None)
        raise LiveFrameError(
            _("A video frame must be an RGB image of shape (height, width, 3); got {shape}.").format(
                shape=shape
            )
        )
    return frame if frame.dtype == np.uint8 else np.clip(frame, 0, 255).astype(np.uint8)


def _normalised(values: torch.Tensor | np.ndarray) -> np.ndarray:
    array = values.detach().float().cpu().numpy() if isinstance(values, torch.Tensor) else values
    array = np.nan_to_num(array.astype(np.float32))
    low, high = float(array.min()), float(array.max())
    if high - low <= 1e-12:
        return np.zeros_like(array, dtype=np.float32)
    return ((array - low) / (high - low)).astype(np.float32)


def _top(spec: ModelSpec, logits: torch.Tensor, k: int) -> tuple[Prediction, ...]:
    probs = logits.float().softmax(dim=-1)[0].cpu()
    values, indices = probs.topk(max(1, min(k, probs.numel())))
    return tuple(
        Prediction(int(i), spec.categories[int(i)], float(p))
        for p, i in zip(values.tolist(), indices.tolist())
    )


def _grad_cam(loaded: LoadedModel, batch: torch.Tensor) -> tuple[torch.Tensor, np.ndarray, str, float]:
    kept: dict[str, torch.Tensor] = {}
    with loaded.exclusive() as model:

        def top_logit(x: torch.Tensor) -> torch.Tensor:
            logits = model(x)
            kept["logits"] = logits.detach()
            return logits.max(dim=1, keepdim=True).values  # column 0: the top class's logit

        x = batch.clone().requires_grad_(True)
        with torch.enable_grad():
            cam, layer = grad_cam_map(
                SaliencyModel(model, loaded.spec, loaded.device), x, 0, SaliencyOptions(), top_logit
            )
    started = time.perf_counter()
    overlay = _normalised(cam[0, 0])
    return kept["logits"], overlay, layer, (time.perf_counter() - started) * 1000


def _feature_channel(
    loaded: LoadedModel, batch: torch.Tensor, channel: int | None
) -> tuple[torch.Tensor, np.ndarray, str, float]:
    layer = loaded.spec.stages[-1]
    with loaded.exclusive() as model, capture_outputs(model, [layer]) as captured, torch.inference_mode():
        logits = model(batch)
    started = time.perf_counter()
    if layer not in captured:
        raise LiveFrameError(_("Layer {name!r} produced no tensor output for this image.").format(name=layer))
    chw, _kind = to_chw(captured[layer])
    if channel is None:
        channel = int(chw.float().mean(dim=(1, 2)).argmax())
    if not 0 <= channel < chw.shape[0]:
        raise LiveFrameError(
            _("Layer {name} has channels 0–{last}; channel {channel} does not exist.").format(
                name=layer, last=chw.shape[0] - 1, channel=channel
            )
        )
    overlay = _normalised(chw[channel])
    return logits, overlay, f"{layer} · #{channel}", (time.perf_counter() - started) * 1000


def _attention(loaded: LoadedModel, batch: torch.Tensor) -> tuple[torch.Tensor, np.ndarray, str, float]:
    spec = loaded.spec
    if "attention" not in overlays_for(spec):
        raise LiveFrameError(
            _("{title} has no global attention to show; choose a ViT.").format(title=spec.title)
        )
    layer = spec.attention_layers[-1]
    with loaded.exclusive() as model:
        module = resolve_layers(model, [layer])[layer]
        with torch.inference_mode(), capture_attention_inputs(model, [layer]) as inputs:
            logits = model(batch)
            started = time.perf_counter()
            probs = mha_attention_probs(module, inputs[layer])[0]
        patch = vit_patch_size(model)
    grid = (batch.shape[-2] // patch, batch.shape[-1] // patch)
    maps = AttentionMaps(
        attn=probs[None].float().cpu().numpy(), grid=grid, layer_names=(layer,), patch_size=patch
    )
    overlay = _normalised(maps.class_token_maps()[0].mean(axis=0))
    return logits, overlay, layer, (time.perf_counter() - started) * 1000


def process_frame(loaded: LoadedModel, frame: np.ndarray, options: LiveOptions | None = None) -> FrameResult:
    """Read one RGB ``frame`` (H, W, 3, uint8) with the shared model: top-``options.topk`` classes, the
    chosen overlay over the model's view of the frame, and the time each step took."""
    options = options or LiveOptions()
    if options.overlay not in OVERLAYS:
        raise LiveFrameError(
            _("Unknown overlay {name!r}; choose one of {choices}.").format(
                name=options.overlay, choices=", ".join(OVERLAYS)
            )
        )
    started = time.perf_counter()
    spec = loaded.spec
    frame = _check_frame(frame)
    batch = preprocess(Image.fromarray(frame), spec).to(loaded.device)
    prepared = time.perf_counter()
    if options.overlay == "grad_cam":
        logits, overlay, detail, overlay_ms = _grad_cam(loaded, batch)
    elif options.overlay == "feature_channel":
        logits, overlay, detail, overlay_ms = _feature_channel(loaded, batch, options.channel)
    else:
        logits, overlay, detail, overlay_ms = _attention(loaded, batch)
    top = _top(spec, logits, options.topk)
    finished = time.perf_counter()
    model_ms = (finished - prepared) * 1000 - overlay_ms
    return FrameResult(
        top=top,
        overlay=overlay,
        overlay_kind=options.overlay,
        detail=detail,
        box=crop_box(frame.shape, spec),
        timings=FrameTimings(
            preprocess_ms=(prepared - started) * 1000,
            model_ms=model_ms,
            overlay_ms=overlay_ms,
            total_ms=(finished - started) * 1000,
        ),
    )


# A perceptually ordered colour ramp (dark blue → cyan → yellow → red), interpolated to 256 entries.
_RAMP = np.array(
    [
        [48, 18, 59],
        [40, 120, 240],
        [30, 200, 200],
        [120, 240, 90],
        [250, 200, 40],
        [240, 90, 20],
        [122, 4, 3],
    ],
    dtype=np.float32,
)
_LUT = np.stack(
    [np.interp(np.linspace(0, len(_RAMP) - 1, 256), np.arange(len(_RAMP)), _RAMP[:, c]) for c in range(3)],
    axis=1,
).astype(np.uint8)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # a Pillow without scalable default font
        return ImageFont.load_default()


def annotate(
    frame: np.ndarray, result: FrameResult | None, status: str = "", alpha: float = 0.45
) -> np.ndarray:
    """``frame`` with ``result`` drawn on it: the overlay blended into the model's view (outlined), the top
    classes with their confidences, and ``status`` (rates, latency) along the bottom. Returns a new
    (H, W, 3) uint8 array; ``frame`` is not changed."""
    frame = _check_frame(frame)
    height, width = frame.shape[:2]
    out = frame.copy()
    if result is not None:
        left, top, right, bottom = (
            max(0, min(width, result.box[0])),
            max(0, min(height, result.box[1])),
            max(0, min(width, result.box[2])),
            max(0, min(height, result.box[3])),
        )
        if right - left >= 2 and bottom - top >= 2:
            heat = Image.fromarray((result.overlay * 255).astype(np.uint8)).resize(
                (right - left, bottom - top), Image.Resampling.BILINEAR
            )
            colours = _LUT[np.asarray(heat)].astype(np.float32)
            region = out[top:bottom, left:right].astype(np.float32)
            out[top:bottom, left:right] = (region * (1 - alpha) + colours * alpha).astype(np.uint8)
    image = Image.fromarray(out)
    draw = ImageDraw.Draw(image)
    size = max(12, height // 24)
    font = _font(size)
    if result is not None:
        draw.rectangle(result.box, outline=(255, 255, 255), width=max(1, size // 8))
        lines = [f"{p.label}  {p.prob:.0%}" for p in result.top]
        box_height = (size + 4) * len(lines) + 8
        draw.rectangle((0, 0, width, box_height), fill=(0, 0, 0))
        for i, line in enumerate(lines):
            draw.text((8, 4 + i * (size + 4)), line, fill=(255, 255, 255) if i else (255, 230, 90), font=font)
    if status:
        draw.rectangle((0, height - size - 10, width, height), fill=(0, 0, 0))
        draw.text((8, height - size - 6), status, fill=(255, 255, 255), font=font)
    return np.asarray(image)
