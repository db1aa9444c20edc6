"""Saliency: which input pixels drove a prediction, by nine attribution methods from Captum.

One uniform entry point, :func:`attribute`, runs any method on any catalog model (CNN, ViT, Swin, hybrid)
and returns an :class:`Attribution` whose ``map`` has the model's input resolution.

Methods and papers:

- ``saliency`` — the input gradient (Simonyan, Vedaldi, Zisserman 2013, "Deep Inside Convolutional
  Networks").
- ``integrated_gradients`` — gradients integrated along the straight path from a baseline (Sundararajan,
  Taly, Yan 2017, "Axiomatic Attribution for Deep Networks"); satisfies completeness.
- ``smoothgrad`` — the gradient averaged over noisy copies of the input (Smilkov et al. 2017).
- ``guided_backprop`` — only positive gradients pass backwards through ReLUs (Springenberg et al. 2015).
- ``deeplift`` — differences from a reference propagated with the rescale rule (Shrikumar et al. 2017).
- ``gradient_shap`` — expected gradients × (input − baseline) over noisy baselines (Lundberg, Lee 2017).
- ``occlusion`` — the drop in the target score when a sliding window is set to the baseline (Zeiler,
  Fergus 2014).
- ``grad_cam`` — a layer's activations weighted by their pooled gradients, upsampled (Selvaraju et al.
  2017); ``guided_grad_cam`` multiplies it with guided backpropagation.

Every computation runs on a private deep copy of the model (see :class:`SaliencyModel`): the shared,
cached model never gets a hook, a ``.grad`` or a changed flag, whatever happens.
"""

from __future__ import annotations

import contextlib
import copy
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch
from torch import nn
from torchvision.transforms.v2 import functional as TF

from cvviz.catalog import ModelSpec
from cvviz.errors import CvvizError
from cvviz.hooks import hooks_removed_on_exit, resolve_layers

if TYPE_CHECKING:
    from cvviz.model_cache import LoadedModel

BaselineKind = Literal["black", "blur", "noise"]
BASELINES: tuple[str, ...] = ("black", "blur", "noise")


class SaliencyError(CvvizError, ValueError):
    """A saliency request that cannot be met (unknown method, target out of range, unusable layer)."""


@dataclass(frozen=True)
class Method:
    """One attribution method: its catalog name, display title, and whether it needs a layer."""

    name: str
    title: str
    uses_layer: bool = False
    uses_baseline: bool = False


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("saliency", "Saliency (gradient)"),
        Method("integrated_gradients", "Integrated Gradients", uses_baseline=True),
        Method("smoothgrad", "SmoothGrad"),
        Method("guided_backprop", "Guided Backprop"),
        Method("deeplift", "DeepLift", uses_baseline=True),
        Method("gradient_shap", "GradientShap", uses_baseline=True),
        Method("occlusion", "Occlusion", uses_baseline=True),
        Method("grad_cam", "Grad-CAM", uses_layer=True),
        Method("guided_grad_cam", "Guided Grad-CAM", uses_layer=True),
    )
}


def get_method(name: str) -> Method:
    """The method called ``name``; an unknown name raises one sentence listing the valid ones."""
    if name not in METHODS:
        raise SaliencyError(f"Unknown saliency method {name!r}; choose one of: {', '.join(METHODS)}.")
    return METHODS[name]


@dataclass(frozen=True)
class SaliencyOptions:
    """The main parameters of every method (each method reads only its own).

    ``steps``/``internal_batch_size``: Integrated Gradients. ``baseline``: the reference image for IG,
    DeepLift, GradientShap and Occlusion (black, a blurred copy, or uniform noise). ``n_samples``/
    ``stdevs``: SmoothGrad and GradientShap (``stdevs`` as a fraction of the input's value range).
    ``window``/``stride``: Occlusion, in pixels. ``layer``: Grad-CAM's layer (None: the catalog default,
    see :func:`default_layer`). ``relu``: keep only Grad-CAM's positive evidence, as the paper does.
    """

    steps: int = 32
    internal_batch_size: int | None = 16
    baseline: BaselineKind = "black"
    n_samples: int = 16
    stdevs: float = 0.15
    window: int = 32
    stride: int = 16
    layer: str | None = None
    relu: bool = True
    seed: int = 0


@dataclass(frozen=True)
class Attribution:
    """What one method says about one image and one target class.

    ``map``: (H, W) float32 at the model's input resolution, the signed attribution summed over channels
    (positive: evidence for ``target``; use :func:`view` for positive/negative/absolute). ``raw``: the
    per-channel attribution (C, H, W), or None for layer methods. ``layer``: the layer a layer method used.
    """

    map: np.ndarray
    method: str
    target: int
    raw: np.ndarray | None = None
    layer: str | None = None


View = Literal["positive", "negative", "absolute", "signed"]
VIEWS: tuple[str, ...] = ("absolute", "positive", "negative", "signed")


def view(attr_map: np.ndarray, kind: View = "absolute") -> np.ndarray:
    """The map as shown: positive part, magnitude of the negative part, absolute value, or signed."""
    if kind == "positive":
        return np.clip(attr_map, 0, None)
    if kind == "negative":
        return np.clip(-attr_map, 0, None)
    if kind == "absolute":
        return np.abs(attr_map)
    if kind == "signed":
        return attr_map
    raise SaliencyError(f"Unknown view {kind!r}; choose one of: {', '.join(VIEWS)}.")


# --- Layers and token grids ---------------------------------------------------------------------------


def default_layer(spec: ModelSpec) -> str:
    """Grad-CAM's default layer, from the catalog: the last stage; for a ViT the last block's ``ln_1``.

    A ViT's last block output reaches the classifier only through the class token, so the patch tokens'
    gradients there are zero; its input (``ln_1``) still mixes into the class token via attention.
    """
    last = spec.stages[-1]
    if spec.kind == "vit":
        return f"{last}.ln_1"
    return last


Reshape = Callable[[torch.Tensor], torch.Tensor]


def vit_tokens_to_grid(tokens: torch.Tensor) -> torch.Tensor:
    """(B, 1+N, D) ViT tokens → (B, D, g, g) patch grid, dropping the class token (N = g²)."""
    patches = tokens[:, 1:]
    side = math.isqrt(patches.shape[1])
    if side * side != patches.shape[1]:
        raise SaliencyError(f"{patches.shape[1]} patch tokens do not form a square grid.")
    return patches.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], side, side)


def nhwc_to_nchw(tensor: torch.Tensor) -> torch.Tensor:
    """(B, H, W, C) Swin feature maps → (B, C, H, W)."""
    return tensor.permute(0, 3, 1, 2)


def reshape_for(spec: ModelSpec | None, layer: str) -> Reshape | None:
    """How to turn ``layer``'s output into an NCHW grid for Grad-CAM (None when it already is one)."""
    if spec is None or spec.kind in ("cnn", "hybrid"):
        return None
    if spec.kind == "vit" and layer.startswith("encoder.layers"):
        return vit_tokens_to_grid
    if spec.kind == "swin" and layer.startswith("features."):
        return nhwc_to_nchw
    return None


class _GridView(nn.Module):
    """Wraps a layer so that its output passes through ``grid`` (an Identity) as an NCHW tensor.

    Grad-CAM then attributes to ``grid``; the value returned to the rest of the network is unchanged
    (ViT: the class token is put back in front; Swin: permuted back to NHWC).
    """

    def __init__(self, inner: nn.Module, reshape: Reshape) -> None:
        super().__init__()
        self.inner = inner
        self.reshape = reshape
        self.grid = nn.Identity()

    def forward(self, *args, **kwargs):
        out = self.inner(*args, **kwargs)
        grid = self.grid(self.reshape(out))
        if self.reshape is nhwc_to_nchw:
            return grid.permute(0, 2, 3, 1)
        patches = grid.flatten(2).transpose(1, 2)
        return torch.cat([out[:, :1], patches], dim=1)


# --- The private model --------------------------------------------------------------------------------

# Activations Captum's DeepLift and Guided Backprop hook per module: each must run once per forward pass.
_HOOKED_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.ELU, nn.Sigmoid, nn.Tanh, nn.Softmax, nn.LeakyReLU)


class _PerCallModules(nn.Module):
    """Stands in for one activation module that a model calls several times per forward pass.

    Holds one copy per call and uses them in turn, so hook-based methods that keep per-module state
    (DeepLift, Guided Backprop) see each call as its own module.
    """

    def __init__(self, module: nn.Module, calls: int) -> None:
        super().__init__()
        self.copies = nn.ModuleList(copy.deepcopy(module) for _ in range(calls))
        self.calls = calls
        self._next = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        module = self.copies[self._next]
        self._next = (self._next + 1) % self.calls
        return module(x)


def _set_submodule(root: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, module)


@dataclass(eq=False)
class SaliencyModel:
    """A private copy of a model, safe to hook, randomise and backpropagate through.

    In-place activations are made out-of-place and activations called several times per pass are
    unshared (once an example input is seen), which Guided Backprop and DeepLift need. ``spec`` is None
    for models outside the catalog (tests); ``device`` is where the copy lives.
    """

    model: nn.Module
    spec: ModelSpec | None
    device: torch.device
    _unshared: bool = field(default=False, repr=False)

    def unshare_activations(self, example: torch.Tensor) -> None:
        """Give every reused activation module one copy per call (counted on ``example``)."""
        if self._unshared:
            for module in self.model.modules():
                if isinstance(module, _PerCallModules):
                    module._next = 0
            return
        calls: dict[str, int] = {}
        with hooks_removed_on_exit([]) as handles:
            for name, module in self.model.named_modules():
                if isinstance(module, _HOOKED_ACTIVATIONS):

                    def count(_m, _i, _o, name=name) -> None:
                        calls[name] = calls.get(name, 0) + 1

                    handles.append(module.register_forward_hook(count))
            with torch.no_grad():
                self.model(example)
        for name, n in calls.items():
            if n > 1:
                _set_submodule(self.model, name, _PerCallModules(self.model.get_submodule(name), n))
        self._unshared = True


def private_copy(loaded_or_model: LoadedModel | nn.Module, spec: ModelSpec | None = None) -> SaliencyModel:
    """A :class:`SaliencyModel` deep-copied from a shared ``LoadedModel`` (under its lock) or a module.

    The shared model is only read: the copy gets its own parameters, has every hook dropped (a copy taken
    while another thread had hooks attached would otherwise inherit them), and turns in-place
    activations out-of-place.
    """
    if isinstance(loaded_or_model, SaliencyModel):
        return loaded_or_model
    if isinstance(loaded_or_model, nn.Module):
        model = copy.deepcopy(loaded_or_model)
        device = next(model.parameters(), torch.empty(0)).device
    else:
        with loaded_or_model.lock:
            model = copy.deepcopy(loaded_or_model.model)
        spec = spec or loaded_or_model.spec
        device = loaded_or_model.device
    for module in model.modules():
        module._forward_hooks.clear()
        module._forward_pre_hooks.clear()
        module._backward_hooks.clear()
        getattr(module, "_backward_pre_hooks", {}).clear()
        if getattr(module, "inplace", False):
            module.inplace = False
    model.eval().requires_grad_(False)
    return SaliencyModel(model, spec, device)


# --- Baselines ----------------------------------------------------------------------------------------


def make_baseline(x: torch.Tensor, kind: BaselineKind, spec: ModelSpec | None, seed: int = 0) -> torch.Tensor:
    """The reference image, in the model's (normalised) input space, shape of ``x`` (1, C, H, W).

    ``black``: pixel value 0 (normalised by the spec's mean/std; plain zeros without a spec); ``blur``: a
    strong Gaussian blur of the input (Sturmfels et al. 2020, "Visualizing the Impact of Feature
    Attribution Baselines"); ``noise``: uniform noise in pixel space, normalised.
    """
    if kind == "blur":
        side = max(3, (x.shape[-1] // 8) | 1)
        return TF.gaussian_blur(x, [side, side], [side / 3.0, side / 3.0])
    mean = torch.zeros(x.shape[1], dtype=x.dtype, device=x.device)
    std = torch.ones_like(mean)
    if spec is not None:
        mean = torch.tensor(spec.preprocessing.mean[: x.shape[1]], dtype=x.dtype, device=x.device)
        std = torch.tensor(spec.preprocessing.std[: x.shape[1]], dtype=x.dtype, device=x.device)
    if kind == "black":
        pixels = torch.zeros_like(x)
    elif kind == "noise":
        generator = torch.Generator(device="cpu").manual_seed(seed)
        pixels = torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    else:
        raise SaliencyError(f"Unknown baseline {kind!r}; choose one of: {', '.join(BASELINES)}.")
    if spec is None:
        return pixels if kind == "noise" else torch.zeros_like(x)
    return (pixels - mean[:, None, None]) / std[:, None, None]


# --- Attribution --------------------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Captum warns about things cvviz already handles (input requires_grad, hooks being set)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _grad_cam(private: SaliencyModel, x: torch.Tensor, target: int, options: SaliencyOptions) -> tuple:
    """Upsampled Grad-CAM map (1, 1, H, W) and the layer name, on a token grid for transformers."""
    from captum.attr import LayerAttribution, LayerGradCam

    if options.layer is None and private.spec is None:
        raise SaliencyError("Grad-CAM needs a layer for a model outside the catalog.")
    layer_name = options.layer or default_layer(private.spec)
    module = resolve_layers(private.model, [layer_name])[layer_name]
    reshape = reshape_for(private.spec, layer_name)
    wrapper = None
    if reshape is not None:
        wrapper = _GridView(module, reshape)
        _set_submodule(private.model, layer_name, wrapper)
        module = wrapper.grid
    try:
        cam = LayerGradCam(private.model, module).attribute(x, target=target, relu_attributions=options.relu)
    finally:
        if wrapper is not None:
            _set_submodule(private.model, layer_name, wrapper.inner)
    if cam.dim() != 4:
        raise SaliencyError(
            f"Layer {layer_name!r} does not produce a spatial map; choose a convolutional one."
        )
    return LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear"), layer_name


def _run(method: str, private: SaliencyModel, x: torch.Tensor, target: int, options: SaliencyOptions):
    import captum.attr as ca

    model = private.model
    baseline = (
        make_baseline(x, options.baseline, private.spec, options.seed)
        if METHODS[method].uses_baseline
        else None
    )
    if method == "saliency":
        return ca.Saliency(model).attribute(x, target=target, abs=False), None
    if method == "integrated_gradients":
        return ca.IntegratedGradients(model).attribute(
            x,
            baselines=baseline,
            target=target,
            n_steps=options.steps,
            internal_batch_size=options.internal_batch_size,
        ), None
    if method == "smoothgrad":
        spread = float(options.stdevs * (x.max() - x.min()))
        return ca.NoiseTunnel(ca.Saliency(model)).attribute(
            x, nt_type="smoothgrad", nt_samples=options.n_samples, stdevs=spread, target=target, abs=False
        ), None
    if method == "guided_backprop":
        private.unshare_activations(x.detach())
        return ca.GuidedBackprop(model).attribute(x, target=target), None
    if method == "deeplift":
        private.unshare_activations(x.detach())
        return ca.DeepLift(model).attribute(x, baselines=baseline, target=target), None
    if method == "gradient_shap":
        spread = float(options.stdevs * (x.max() - x.min()))
        baselines = torch.cat([baseline, make_baseline(x, "black", private.spec)])
        return ca.GradientShap(model).attribute(
            x, baselines=baselines, n_samples=options.n_samples, stdevs=spread, target=target
        ), None
    if method == "occlusion":
        channels = x.shape[1]
        window = min(options.window, x.shape[-1])
        return ca.Occlusion(model).attribute(
            x,
            sliding_window_shapes=(channels, window, window),
            strides=(channels, options.stride, options.stride),
            baselines=baseline,
            target=target,
            perturbations_per_eval=8,
        ), None
    if method == "grad_cam":
        cam, layer = _grad_cam(private, x, target, options)
        return cam, layer
    if method == "guided_grad_cam":
        cam, layer = _grad_cam(private, x, target, options)
        private.unshare_activations(x.detach())
        guided = ca.GuidedBackprop(model).attribute(x, target=target)
        return guided * cam, layer
    raise AssertionError(method)


def attribute(
    loaded_or_model: LoadedModel | nn.Module | SaliencyModel,
    spec: ModelSpec | None,
    image_tensor: torch.Tensor,
    method: str,
    target: int,
    options: SaliencyOptions | None = None,
) -> Attribution:
    """Attribute the ``target`` logit to the pixels of ``image_tensor`` (1, C, H, W, preprocessed).

    Works on a private copy (pass a :class:`SaliencyModel` from :func:`private_copy` to reuse one across
    methods); the caller's model and tensor are never touched. Gradients are enabled explicitly, so this
    works inside ``torch.no_grad()`` too.
    """
    get_method(method)
    options = options or SaliencyOptions()
    private = private_copy(loaded_or_model, spec)
    spec = private.spec
    num_classes = spec.num_classes if spec is not None else None
    if not isinstance(target, (int, np.integer)) or target < 0 or (num_classes and target >= num_classes):
        limit = f" 0–{num_classes - 1}" if num_classes else " a non-negative index"
        raise SaliencyError(f"Target class {target!r} is out of range; use{limit}.")
    target = int(target)
    dtype = next(private.model.parameters()).dtype
    x = image_tensor.detach().to(private.device, dtype).clone().requires_grad_(True)
    if x.dim() != 4 or x.shape[0] != 1:
        raise SaliencyError(f"Expected one image of shape (1, C, H, W), got {tuple(image_tensor.shape)}.")
    with torch.enable_grad(), _quiet():
        torch.manual_seed(options.seed)
        try:
            result, layer = _run(method, private, x, target, options)
        except IndexError as exc:
            raise SaliencyError(f"Target class {target} is out of range for this model.") from exc
    result = result.detach()
    raw = result[0].float().cpu().numpy()
    attr_map = raw.sum(axis=0).astype(np.float32)
    return Attribution(
        map=attr_map,
        method=method,
        target=target,
        raw=None if method == "grad_cam" else raw.astype(np.float32),
        layer=layer,
    )
