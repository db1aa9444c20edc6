"""Saliency: which input pixels drove a prediction, by nine attribution methods built on Captum.

:func:`attribute` runs any method (:data:`METHODS`, one module each) on a private copy of any catalog
model and returns an :class:`Attribution` at the model's input resolution. :mod:`.sanity` checks that a
map depends on the model (Adebayo et al. 2018); :mod:`.faithfulness` measures deletion and insertion
curves (Petsiuk et al. 2018).
"""

from cvviz.explain.saliency.attribute import attribute, load_attribution_library
from cvviz.explain.saliency.base import (
    BASELINES,
    VIEWS,
    Attribution,
    AttributionMethod,
    BaselineKind,
    SaliencyError,
    SaliencyOptions,
    View,
    view,
)
from cvviz.explain.saliency.baselines import make_baseline
from cvviz.explain.saliency.grad_cam import GridView
from cvviz.explain.saliency.methods import METHODS, get_method
from cvviz.explain.saliency.private_model import SaliencyModel, private_copy

__all__ = [
    "BASELINES",
    "METHODS",
    "VIEWS",
    "Attribution",
    "AttributionMethod",
    "BaselineKind",
    "GridView",
    "SaliencyError",
    "SaliencyModel",
    "SaliencyOptions",
    "View",
    "attribute",
    "get_method",
    "load_attribution_library",
    "make_baseline",
    "private_copy",
    "view",
]
