"""What a unit looks for: feature visualisation by optimisation and dataset examples.

:func:`visualize` optimises images from noise to maximise channels, class logits or directions
(Olah et al. 2017, "Feature Visualization", Distill), several in one batch; :func:`top_patches` finds the
image patches, cropped to the unit's receptive field, that excite a channel most.
"""

from cvviz.explain.neurons.dataset_examples import (
    ImageSet,
    LayerMaxima,
    Patch,
    from_folder,
    from_images,
    layer_maxima,
    layer_maxima_cached,
    maxima_job,
    sample_set,
    top_patches,
    unit_field,
)
from cvviz.explain.neurons.objectives import OBJECTIVE_KINDS, NeuronError, Objective
from cvviz.explain.neurons.optimize import (
    FeatureVisualization,
    VisualizationSettings,
    cached_visualizations,
    estimate_seconds,
    visualization_job,
    visualize,
    visualize_cached,
)

__all__ = [
    "OBJECTIVE_KINDS",
    "FeatureVisualization",
    "ImageSet",
    "LayerMaxima",
    "NeuronError",
    "Objective",
    "Patch",
    "VisualizationSettings",
    "cached_visualizations",
    "estimate_seconds",
    "from_folder",
    "from_images",
    "layer_maxima",
    "layer_maxima_cached",
    "maxima_job",
    "sample_set",
    "top_patches",
    "unit_field",
    "visualization_job",
    "visualize",
    "visualize_cached",
]
