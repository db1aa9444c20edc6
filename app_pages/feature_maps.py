"""Feature maps: what every layer of the chosen model responds to in the chosen image."""

import numpy as np
import streamlit as st

from cvviz.catalog import get_family
from cvviz.errors import CvvizError
from cvviz.explain.features import (
    JOURNEY_MODES,
    STATISTICS,
    channel_order,
    extract_features,
    first_layer_filters,
    journey,
)
from cvviz.formatting import format_number
from cvviz.i18n import N_, _, current_language
from cvviz.layouts import LAYOUT_NOTES, shape_text
from cvviz.models.inference import preprocess, to_display_image
from cvviz.plotting.features import (
    channel_figure,
    channel_grid_figure,
    channel_overlay_figure,
    filters_figure,
    journey_figure,
)
from ui.messages import CHOOSE_IMAGE, require, untrained_banner
from ui.resources import workbench
from ui.sidebar import current_selection, model_label

selection = current_selection()
loaded = selection.model
spec = loaded.spec
untrained_banner(loaded)
image = require(selection.image, CHOOSE_IMAGE)

st.title(_("What {model}'s layers respond to").format(model=spec.title))
PAGE_SIZE = 64
ABOVE = N_("(the stage above)")
# The library's option values, as the visitor reads them.
OPTION_LABELS = {
    "mean": N_("mean"),
    "max": N_("max"),
    "variance": N_("variance"),
    "top channel": N_("top channel"),
    "mean of channels": N_("mean of channels"),
}


def option_label(value: str) -> str:
    return _(OPTION_LABELS.get(value, value))


with loaded.exclusive() as model:
    all_modules = [ABOVE] + [name for name, _ in model.named_modules() if name]
# Layer and channel controls are keyed by the model and the layer, so they never carry a choice over to
# a model or layer where it does not exist.
left, right = st.columns(2)
stage = left.selectbox(_("Stage output"), list(spec.stages), key=f"fm.stage.{spec.name}")
other = right.selectbox(
    _("…or any module"),
    all_modules,
    key=f"fm.module.{spec.name}",
    format_func=lambda m: _(ABOVE) if m == ABOVE else m,
)
layer = stage if other == all_modules[0] else other
per_layer = f"{spec.name}.{layer}"

layers = tuple(dict.fromkeys((*spec.stages, layer)))
try:
    with st.spinner(_("Running the model once and recording the layers…")):
        # One forward pass per (model, image, layers); widget changes reuse it.
        features = workbench().remember(
            loaded.key, image.fingerprint, "features", layers,
            lambda: extract_features(loaded, preprocess(image.image, spec), layers),
        )  # fmt: skip
except CvvizError as exc:
    st.error(str(exc))
    st.stop()

feature = features[layer]
maps = feature.maps
st.caption(
    _("`{layer}` outputs {shape} → {channels} channels of {height}×{width}.").format(
        layer=layer,
        shape=shape_text(feature.original_shape),
        channels=format_number(maps.shape[0]),
        height=maps.shape[1],
        width=maps.shape[2],
    )
    + " "
    + _(LAYOUT_NOTES.get(feature.kind, ""))
)
cols = st.columns(3)
statistic = cols[0].selectbox(
    _("Sort channels by"), list(STATISTICS), key="fm.statistic", format_func=option_label
)
order = channel_order(maps, statistic)
pages = max(1, -(-len(order) // PAGE_SIZE))
page = cols[1].number_input(
    _("Page (of {pages})").format(pages=pages), min_value=1, max_value=pages, key=f"fm.page.{per_layer}"
)
shown = [int(c) for c in order[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]]
channel = cols[2].selectbox(_("Enlarge channel"), [str(c) for c in order], key=f"fm.channel.{per_layer}")
# Figures that take a while to build (dozens of subplots) are kept with the results, so changing the
# enlarged channel or the journey mode redraws without rebuilding them.
grid = workbench().remember(
    loaded.key, image.fingerprint, "fm.grid", (layer, statistic, page, current_language()),
    lambda: channel_grid_figure(maps, shown).to_plotly_json(),
)  # fmt: skip
st.plotly_chart(grid, key="fm.grid")

big, over = st.columns(2)
chosen = maps[int(channel)]
big.plotly_chart(channel_figure(chosen, _("channel #{channel}").format(channel=channel)), key="fm.big")
crop = np.asarray(to_display_image(image.image, spec).convert("RGB"))
over.plotly_chart(
    channel_overlay_figure(
        crop, chosen, _("channel #{channel} over the crop the model sees").format(channel=channel)
    ),
    key="fm.overlay",
)

st.subheader(_("The journey: stem to last stage"))
mode = st.radio(
    _("Each panel shows"),
    list(JOURNEY_MODES),
    key="fm.journey_mode",
    horizontal=True,
    format_func=option_label,
)
steps = journey(features, spec.stages, mode, get_family(spec).stage_labels(spec))
journey_plot = workbench().remember(
    loaded.key,
    image.fingerprint,
    "fm.journey",
    (layers, mode, current_language()),  # its titles are in the visitor's language
    lambda: journey_figure(steps).to_plotly_json(),
)
st.plotly_chart(journey_plot, key="fm.journey")
st.caption(
    _("Stem to last stage: the channel with the highest mean activation, or the mean over all channels.")
)

st.subheader(_("First-layer filters"))
labels = {
    model_label(name): name
    for name in ("alexnet", "vgg16", "vit_b_16", "efficientnet_lite0")
    if name != spec.name
}
NONE = N_("(none)")
compare_label = st.selectbox(
    _("Compare with"),
    [NONE, *labels],
    key="fm.compare",
    format_func=lambda label: _(NONE) if label == NONE else label,
)
panels = [loaded]
if compare_label != NONE:
    with st.spinner(_("Building the comparison model…")):
        other_name = labels[compare_label]
        panels.append(
            workbench().get(other_name, "pretrained" if other_name == "efficientnet_lite0" else "random")
        )
for column, panel in zip(st.columns(len(panels)), panels):
    with panel.exclusive() as panel_model:
        filters = first_layer_filters(panel_model)
    state = _("trained") if panel.trained else _("untrained (random weights)")
    kernel = "×".join(str(s) for s in filters.images.shape[1:3])
    column.plotly_chart(
        filters_figure(
            filters,
            _("{model}: {kernel} filters, {state}").format(
                model=panel.spec.title, kernel=kernel, state=state
            ),
        ),
        key=f"fm.filters.{panel.spec.name}",
    )
