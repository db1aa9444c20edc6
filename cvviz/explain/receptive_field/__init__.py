"""Receptive fields: the exact theoretical field of every layer of a CNN, and the effective field.

* :mod:`.theoretical` traces the model and propagates fields along every path by the per-operation
  rules of :mod:`.rules` (Araujo, Norris, Sim, Distill 2019);
* :mod:`.effective` is the gradient of one unit with respect to the input (Luo et al., NeurIPS 2016);
* :mod:`.boxes` places one unit's field on an image; :mod:`.windows` gives Swin's windows in pixels.
"""

from cvviz.explain.receptive_field.boxes import UnitBox, unit_box
from cvviz.explain.receptive_field.effective import (
    average_effective_receptive_field,
    effective_receptive_field,
)
from cvviz.explain.receptive_field.field import LayerField, ReceptiveFieldError, translate_note
from cvviz.explain.receptive_field.theoretical import (
    leaf_fields,
    receptive_field_for_spec,
    receptive_fields,
    require_convolutional,
)
from cvviz.explain.receptive_field.windows import SwinWindow, swin_window_fields

__all__ = [
    "LayerField",
    "ReceptiveFieldError",
    "SwinWindow",
    "UnitBox",
    "average_effective_receptive_field",
    "effective_receptive_field",
    "leaf_fields",
    "receptive_field_for_spec",
    "receptive_fields",
    "require_convolutional",
    "swin_window_fields",
    "translate_note",
    "unit_box",
]
