"""The CAM family from the ``grad-cam`` library (Gildenblat et al., pytorch-grad-cam), behind cvviz's
method interface: the layer is the family's CAM layer (or the options' one), transformer layers are seen
as grids through :class:`.grad_cam.GridView`, and the library's hooks are released however a run ends.

The library returns each map with its negative part cut off and scaled to [0, 1] at the input size (its own
bilinear resize); cvviz keeps it so, since the grid, sanity and faithfulness checks compare ranks and
shapes, not absolute values.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

from cvviz.explain.saliency.base import AttributionMethod, SaliencyError, SaliencyOptions
from cvviz.explain.saliency.grad_cam import grid_target
from cvviz.explain.saliency.private_model import SaliencyModel
from cvviz.hooks import before_each_forward
from cvviz.i18n import _

if TYPE_CHECKING:
    from cvviz.jobs import Reporter

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


def _put_back_ablated_layer(model: nn.Module, cam: object, layer: nn.Module) -> None:
    """Ablation-CAM swaps its layer for an ablation layer while it loops and swaps it back at the end; a
    run stopped part-way never reaches the end, so the layer is put back here."""
    from pytorch_grad_cam.utils.find_layers import replace_layer_recursive

    ablation = getattr(cam, "ablation_layer", None)
    if ablation is not None and any(module is ablation for module in model.modules()):
        replace_layer_recursive(model, ablation, layer)


def library_cam_map(
    cam_class_name: str,
    private: SaliencyModel,
    x: torch.Tensor,
    target: int,
    options: SaliencyOptions,
    reporter: Reporter | None = None,
    first_passes: int = 1,
    title: str = "",
) -> tuple[torch.Tensor, str]:
    """The library's ``cam_class_name`` map for ``target``: (1, 1, H, W) in [0, 1], and the layer used.

    With a job's ``reporter``, every forward pass the library runs is counted and checked first: the
    per-channel methods run ``first_passes`` passes, then one per batch of :data:`SCORE_BATCH` channels,
    so progress is known once the layer's channels are, and a cancelled job stops before the next batch.
    """
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    _silence_progress_bars()
    cam_class = getattr(pytorch_grad_cam, cam_class_name)
    with grid_target(private, options) as (module, layer_name):
        cam = cam_class(model=private.model, target_layers=[module])
        cam.batch_size = SCORE_BATCH
        passes = 0

        def before_forward() -> None:
            nonlocal passes
            reporter.check()
            seen = cam.activations_and_grads.activations
            if seen:
                total = first_passes + math.ceil(seen[0].shape[1] / SCORE_BATCH)
                reporter.update(
                    min(passes / total, 1.0),
                    _("{method} on {layer}: forward pass {done} of {total}").format(
                        method=title or cam_class_name, layer=layer_name, done=passes + 1, total=total
                    ),
                )
            passes += 1

        try:
            if reporter is None:
                grayscale = cam(input_tensor=x, targets=[ClassifierOutputTarget(target)])
            else:
                with before_each_forward(private.model, before_forward):
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
            _put_back_ablated_layer(private.model, cam, module)
    result = torch.as_tensor(grayscale, dtype=torch.float32)[:1, None]
    return torch.nan_to_num(result), layer_name


class LibraryCam(AttributionMethod):
    """A CAM method run by the library's class ``cam_class``."""

    cam_class = ""
    uses_layer = True
    layer_map = True
    first_passes = 1
    """Forward passes the library runs before its per-channel batches (progress counts them)."""

    def run(self, private: SaliencyModel, x: torch.Tensor, target: int, options: SaliencyOptions):
        return library_cam_map(self.cam_class, private, x, target, options)

    def run_reported(
        self,
        private: SaliencyModel,
        x: torch.Tensor,
        target: int,
        options: SaliencyOptions,
        reporter: Reporter,
    ):
        return library_cam_map(
            self.cam_class, private, x, target, options, reporter, self.first_passes, self.title
        )
