"""The CAM family from the ``grad-cam`` library (Gildenblat et al., pytorch-grad-cam), behind cvviz's
method interface: the layer is the family's CAM layer (or the options' one), transformer layers are seen
as grids through :class:`.grad_cam.GridView`, and the library's hooks are released however a run ends.

The library returns each map with its negative part cut off and scaled to [0, 1] at the input size (its own
bilinear resize); cvviz keeps it so, since the grid, sanity and faithfulness checks compare ranks and
shapes, not absolute values.
"""

from __future__ import annotations

import torch

from cvviz.explain.saliency.base import AttributionMethod, SaliencyError, SaliencyOptions
from cvviz.explain.saliency.grad_cam import grid_target
from cvviz.explain.saliency.private_model import SaliencyModel
from cvviz.i18n import _

SCORE_BATCH = 32
"""Masked or ablated copies of the image run through the model this many at a time (Score-, Ablation-CAM)."""


class _NoProgressBar:
    """Stands in for the library's ``tqdm`` module: its per-channel loops print no progress bars."""

    @staticmethod
    def tqdm(iterable, *args, **kwargs):
        return iterable


def _silence_progress_bars() -> None:
    from pytorch_grad_cam import ablation_cam, score_cam

    score_cam.tqdm = _NoProgressBar
    ablation_cam.tqdm = _NoProgressBar


def library_cam_map(
    cam_class_name: str, private: SaliencyModel, x: torch.Tensor, target: int, options: SaliencyOptions
) -> tuple[torch.Tensor, str]:
    """The library's ``cam_class_name`` map for ``target``: (1, 1, H, W) in [0, 1], and the layer used."""
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    _silence_progress_bars()
    cam_class = getattr(pytorch_grad_cam, cam_class_name)
    with grid_target(private, options) as (module, layer_name):
        cam = cam_class(model=private.model, target_layers=[module])
        cam.batch_size = SCORE_BATCH
        try:
            grayscale = cam(input_tensor=x, targets=[ClassifierOutputTarget(target)])
        except ValueError as exc:
            if "activation shape" not in str(exc):
                raise
            raise SaliencyError(
                _("Layer {layer_name!r} does not produce a spatial map; choose a convolutional one.").format(
                    layer_name=layer_name
                )
            ) from exc
        finally:
            cam.activations_and_grads.release()
    result = torch.as_tensor(grayscale, dtype=torch.float32)[:1, None]
    return torch.nan_to_num(result), layer_name


class LibraryCam(AttributionMethod):
    """A CAM method run by the library's class ``cam_class``."""

    cam_class = ""
    uses_layer = True
    layer_map = True

    def run(self, private: SaliencyModel, x: torch.Tensor, target: int, options: SaliencyOptions):
        return library_cam_map(self.cam_class, private, x, target, options)
