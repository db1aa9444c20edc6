"""Preprocessing an image for a catalog model and reading off its top-k prediction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

from cvviz.catalog.schema import ModelSpec
from cvviz.data.digits import centre_digit_image
from cvviz.errors import DeviceError
from cvviz.i18n import _

if TYPE_CHECKING:
    from cvviz.models.workbench import LoadedModel


def preprocess(image: Image.Image, spec: ModelSpec) -> torch.Tensor:
    """The model's input for ``image``: shape (1, C, crop, crop), normalised as the weights expect.

    Same steps, in the same order, as torchvision's ``ImageClassification`` preset (resize the PIL image,
    centre-crop, scale to [0, 1], normalise), so it reproduces the published evaluation exactly.
    """
    prep = spec.preprocessing
    cropped = to_display_image(image.convert("L" if prep.grayscale else "RGB"), spec)
    scaled = F.to_dtype(F.pil_to_tensor(cropped), torch.float32, scale=True)
    return F.normalize(scaled, list(prep.mean), list(prep.std)).unsqueeze(0)


def to_display_image(image: Image.Image, spec: ModelSpec) -> Image.Image:
    """The resized, centre-cropped image exactly as the model sees it (before normalisation); for a digit
    model, the digit cropped to its ink and centred by centre of mass (dark ink on paper is inverted)."""
    prep = spec.preprocessing
    if prep.digit:
        return centre_digit_image(image)
    resized = F.resize(image, [prep.resize_size], interpolation=InterpolationMode(prep.interpolation))
    return F.center_crop(resized, [prep.crop_size, prep.crop_size])


@dataclass(frozen=True)
class Prediction:
    """One class of a top-k prediction: ImageNet index, human label and softmax probability."""

    index: int
    label: str
    prob: float


def predict(loaded: LoadedModel, image: Image.Image, topk: int = 5) -> list[Prediction]:
    """The ``topk`` most probable classes for ``image``, best first."""
    spec = loaded.spec
    batch = preprocess(image, spec).to(loaded.device)
    try:
        with loaded.exclusive() as model, torch.inference_mode():
            logits = model(batch)
    except torch.cuda.OutOfMemoryError as exc:
        raise DeviceError(
            _("The GPU ran out of memory running {title}; try the CPU.").format(title=spec.title)
        ) from exc
    probs = logits.float().softmax(dim=-1)[0].cpu()
    k = max(1, min(topk, probs.numel()))
    values, indices = probs.topk(k)
    return [
        Prediction(int(i), spec.categories[int(i)], float(p))
        for p, i in zip(values.tolist(), indices.tolist())
    ]
