"""The attribution methods cvviz offers, in the order the app lists them."""

from __future__ import annotations

from cvviz.explain.saliency import (
    ablation_cam,
    attention_rollout,
    deeplift,
    eigen_cam,
    grad_cam,
    grad_cam_plus_plus,
    gradient,
    gradient_shap,
    guided_backprop,
    guided_grad_cam,
    hires_cam,
    integrated_gradients,
    layer_cam,
    occlusion,
    score_cam,
    smoothgrad,
    transformer_relevance,
)
from cvviz.explain.saliency.base import AttributionMethod, SaliencyError
from cvviz.i18n import _

METHODS: dict[str, AttributionMethod] = {
    module.METHOD.name: module.METHOD
    for module in (
        gradient,
        integrated_gradients,
        smoothgrad,
        guided_backprop,
        deeplift,
        gradient_shap,
        occlusion,
        grad_cam,
        guided_grad_cam,
        grad_cam_plus_plus,
        hires_cam,
        layer_cam,
        score_cam,
        ablation_cam,
        eigen_cam,
        attention_rollout,
        transformer_relevance,
    )
}


def get_method(name: str) -> AttributionMethod:
    """The method called ``name``; an unknown name raises one sentence listing the valid ones."""
    if name not in METHODS:
        raise SaliencyError(
            _("Unknown saliency method {name!r}; choose one of: {value}.").format(
                name=name, value=", ".join(METHODS)
            )
        )
    return METHODS[name]
