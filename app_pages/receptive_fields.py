"""Receptive fields: how much of the image each layer's units can see, in theory and in effect."""

import numpy as np
import streamlit as st

from cvviz.catalog import get_family, get_spec, list_models
from cvviz.errors import CvvizError
from cvviz.explain.receptive_field import (
    average_effective_receptive_field,
    effective_receptive_field,
    leaf_fields,
    receptive_field_for_spec,
    swin_window_fields,
    translate_note,
    unit_box,
)
from cvviz.formatting import format_number, format_percent
from cvviz.i18n import _
from cvviz.models.inference import preprocess, to_display_image
from cvviz.plotting.picking import add_pick_grid, picked_cell
from cvviz.plotting.receptive_field import growth_figure, heatmap_figure, unit_box_figure
from ui.messages import CHOOSE_IMAGE, require, untrained_banner
from ui.resources import workbench
from ui.sidebar import current_selection
from ui.tables import table

selection = current_selection()
loaded = selection.model
spec = loaded.spec
family = get_family(spec)


def fields_of(name: str):
    """Every layer's theoretical field of catalog model ``name`` (architecture only, computed once)."""
    return workbench().remember(
        name, None, "receptive_fields", (), lambda: tuple(receptive_field_for_spec(get_spec(name)))
    )


st.title(_("Receptive fields"))
untrained_banner(loaded)
st.markdown(
    _(
        "A unit's **theoretical receptive field** is every input pixel that can influence it; it grows with "
        "every convolution and pooling, and multi-path blocks (residual, inception, dense) take the union of "
        "their paths (Araujo et al., *Computing Receptive Fields of CNNs*, Distill 2019)."
    )
)

# --- Growth along depth, several CNNs overlaid -------------------------------------------------------------
CNN_TITLES = {s.title: s.name for s in list_models() if get_family(s).receptive_field == "convolutional"}
DEFAULTS = [get_spec(n).title for n in ("alexnet", "vgg16", "resnet50", "inception_v3", "mobilenet_v2")]
st.subheader(_("How fast the field grows"))
chosen = st.multiselect(
    _("Models"), list(CNN_TITLES), default=DEFAULTS, key="rf.compare", placeholder=_("Choose options")
)
with st.spinner(_("Tracing the models…")):
    try:
        curves = {title: leaf_fields(fields_of(CNN_TITLES[title])) for title in chosen}
    except CvvizError as exc:
        st.error(str(exc))
        curves = {}
if curves:
    st.plotly_chart(growth_figure(curves), key="rf.growth")
    st.caption(
        _(
            "Computed from each architecture as built here at its own input size (no weights needed). Dips "
            "are side branches such as ResNet's 1×1 shortcut convs, which see less than the main path; global "
            "pooling (the whole image) is left off the curve."
        )
    )

st.subheader(_("{model}, layer by layer").format(model=spec.title))
if family.receptive_field == "windows":
    windows = swin_window_fields(spec)
    st.info(family.receptive_field_reason(spec))
    st.dataframe(
        [
            {
                _("stage"): w.stage + 1,
                _("layer"): w.layer,
                _("token stride (px)"): w.token_stride,
                _("window (tokens)"): f"{w.window_tokens[0]}×{w.window_tokens[1]}",
                _("window (px)"): f"{w.window_pixels[0]}×{w.window_pixels[1]}",
                _("shift (tokens)"): f"{w.shift_tokens[0]}×{w.shift_tokens[1]}",
            }
            for w in windows
        ],
        hide_index=True,
        key="rf.swin",
    )
    st.stop()
if family.receptive_field != "convolutional":
    st.info(family.receptive_field_reason(spec))
    st.stop()

try:
    fields = list(fields_of(spec.name))
except CvvizError as exc:
    st.error(str(exc))
    st.stop()


def _pair(pair: tuple[int, int]) -> str:
    if pair[0] == pair[1]:
        return format_number(pair[0])
    return f"{format_number(pair[0])}×{format_number(pair[1])}"


table(
    [
        {
            _("layer"): f.layer,
            _("size"): _pair(f.size),
            _("stride"): _pair(f.stride),
            _("padding"): _pair(f.padding),
            _("exact"): f.exact,
            _("note"): translate_note(f.note),
        }
        for f in fields
    ],
    hide_index=True,
    key="rf.table",
    height=300,
)

# --- One unit on the image --------------------------------------------------------------------------------
st.subheader(_("One unit on your image"))
image = require(selection.image, CHOOSE_IMAGE)
by_layer = {f.layer: f for f in fields}
spatial = [f.layer for f in fields if f.output_size != (1, 1)]
default_layer = next((s for s in reversed(spec.stages) if s in spatial), spatial[-1])
layer = st.selectbox(_("Layer"), spatial, index=spatial.index(default_layer), key=f"rf.layer.{spec.name}")
field = by_layer[layer]
rows, cols = field.output_size
# The unit is picked by clicking the image or with the sliders; both are keyed by the model and layer, so
# a unit is never carried over to a map where it does not exist.
per_layer = f"{spec.name}.{layer}"
row_key, col_key, pick_key = f"rf.row.{per_layer}", f"rf.col.{per_layer}", f"rf.pick.{per_layer}"
clicked = picked_cell(st.session_state.get(pick_key))
if clicked is not None and clicked != st.session_state.get(f"{pick_key}.applied"):
    st.session_state[f"{pick_key}.applied"] = clicked
    st.session_state[row_key], st.session_state[col_key] = (
        min(clicked[0], rows - 1),
        min(clicked[1], cols - 1),
    )
st.caption(_("Click a point of the image to pick the unit centred there, or use the sliders."))
left, right = st.columns(2)
i = left.slider(_("Unit row"), 0, rows - 1, rows // 2, key=row_key)
j = right.slider(_("Unit column"), 0, cols - 1, cols // 2, key=col_key)
box = unit_box(field, i, j, spec.input_size)
st.markdown(
    _(
        "Unit ({i}, {j}) of `{layer}` ({rows}×{cols} map) sees input rows {top}…{bottom} and columns "
        "{left}…{right}: {height}×{width} pixels, {padding} of them in the zero padding (dashed)."
    ).format(
        i=i,
        j=j,
        layer=layer,
        rows=rows,
        cols=cols,
        top=format_number(box.box[0]),
        bottom=format_number(box.box[2]),
        left=format_number(box.box[1]),
        right=format_number(box.box[3]),
        height=format_number(field.size[0]),
        width=format_number(field.size[1]),
        padding=format_percent(box.padding_fraction, 0),
    )
    + (" " + _("Note: {note}.").format(note=translate_note(field.note)) if field.note else "")
)
display = np.asarray(to_display_image(image.image, spec))
samples = 4


def effective_fields():
    with loaded.exclusive() as model:
        batch = preprocess(image.image, spec).to(loaded.device)
        heat = effective_receptive_field(model, layer, batch, (i, j))
        average = average_effective_receptive_field(model, layer, spec.input_shape, (i, j), samples=samples)
    return heat, average


with st.spinner(_("Back-propagating from the unit…")):
    try:
        heat, average = workbench().remember(
            loaded.key, image.fingerprint, "rf.effective", (layer, i, j), effective_fields
        )
    except CvvizError as exc:
        st.error(str(exc))
        st.stop()
a, b = st.columns(2)
limit = spec.input_size - 1
centres_y = [
    min(max(r * field.stride[0] - field.padding[0] + (field.size[0] - 1) / 2, 0), limit) for r in range(rows)
]
centres_x = [
    min(max(c * field.stride[1] - field.padding[1] + (field.size[1] - 1) / 2, 0), limit) for c in range(cols)
]
a.plotly_chart(
    add_pick_grid(
        unit_box_figure(display, box, heat, title=_("theoretical box and effective field on your image")),
        centres_y,
        centres_x,
        marker_px=max(6.0, min(24.0, 400 * field.stride[0] / spec.input_size)),
        hover=_("unit (%{customdata[0]}, %{customdata[1]})"),
    ),
    key=pick_key,
    on_select="rerun",
    selection_mode="points",
)
b.plotly_chart(
    heatmap_figure(
        average, box, title=_("effective field, average over {samples} random inputs").format(samples=samples)
    ),
    key="rf.average",
)
st.caption(
    _(
        "The effective field (|∂unit/∂pixel|, Luo et al. 2016) is far smaller than the theoretical box and "
        "roughly Gaussian: a central pixel reaches the unit through many more paths than a pixel near the "
        "box's edge, so its contributions add up while the edges' fade."
    )
)
