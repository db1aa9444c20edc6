"""Grad-CAM: a layer's activations weighted by their spatially pooled gradients, upsampled to the input
(Selvaraju et al. 2017, "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
Localization"). Transformer layers are seen as grids through their family's layout (ViT tokens, Swin's
channels-last maps)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import nn

from cvviz.catalog.registry import get_family
from cvviz.explain.saliency.base import AttributionMethod, SaliencyError, SaliencyOptions
from cvviz.explain.saliency.private_model import SaliencyModel, set_submodule
from cvviz.hooks import resolve_layers
from cvviz.i18n import _
from cvviz.layouts import GridLayout


class GridView(nn.Module):
    """Wraps a layer so that its output passes through ``grid`` (an Identity) as an (N, C, H, W) tensor.

    Grad-CAM then attributes to ``grid``; the value returned to the rest of the network is unchanged
    (the layout's ``from_grid`` puts it back, e.g. the ViT class token in front).
    """

    def __init__(self, inner: nn.Module, layout: GridLayout) -> None:
        super().__init__()
        self.inner = inner
        self.layout = layout
        self.grid = nn.Identity()

    def forward(self, *args, **kwargs):
        out = self.inner(*args, **kwargs)
        return self.layout.from_grid(self.grid(self.layout.to_grid(out)), out)


def cam_layer(private: SaliencyModel, options: SaliencyOptions) -> str:
    """The layer Grad-CAM uses: the options' layer, else the family's default."""
    if options.layer is not None:
        return options.layer
    if private.spec is None:
        raise SaliencyError(_("Grad-CAM needs a layer for a model outside the catalog."))
    return get_family(private.spec).cam_layer(private.spec)


@contextlib.contextmanager
def grid_target(private: SaliencyModel, options: SaliencyOptions) -> Iterator[tuple[nn.Module, str]]:
    """The module a CAM method attributes to and its layer's name: the layer itself, or for a layer whose
    output is not an (N, C, H, W) grid (ViT tokens, channels-last Swin maps) the Identity of a
    :class:`GridView` put in its place for the block and taken out again however the block ends."""
    layer_name = cam_layer(private, options)
    module = resolve_layers(private.model, [layer_name])[layer_name]
    layout = None
    if private.spec is not None:
        layout = get_family(private.spec).grid_layout(private.spec, layer_name)
    if layout is None:
        yield module, layer_name
        return
    wrapper = GridView(module, layout)
    set_submodule(private.model, layer_name, wrapper)
    try:
        yield wrapper.grid, layer_name
    finally:
        set_submodule(private.model, layer_name, wrapper.inner)


def grad_cam_map(
    private: SaliencyModel,
    x: torch.Tensor,
    target: int,
    options: SaliencyOptions,
    forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
):
    """Upsampled Grad-CAM map (1, 1, H, W) and the layer name.

    ``forward`` replaces ``private.model`` as the function whose output column ``target`` is explained
    (it must run ``private.model``): the live view passes one that keeps the logits and returns the top
    class's, so one forward and one backward pass give both the prediction and its map.
    """
    from captum.attr import LayerAttribution, LayerGradCam

    with grid_target(private, options) as (module, layer_name):
        cam = LayerGradCam(forward or private.model, module).attribute(
            x, target=target, relu_attributions=options.relu
        )
    if cam.dim() != 4:
        raise SaliencyError(
            _("Layer {layer_name!r} does not produce a spatial map; choose a convolutional one.").format(
                layer_name=layer_name
            )
        )
    return LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear"), layer_name


class GradCam(AttributionMethod):
    name = "grad_cam"
    title = "Grad-CAM"
    paper = "Selvaraju et al. 2017"
    uses_layer = True
    layer_map = True

    def run(self, private: SaliencyModel, x: torch.Tensor, target: int, options: SaliencyOptions):
        return grad_cam_map(private, x, target, options)


METHOD = GradCam()
