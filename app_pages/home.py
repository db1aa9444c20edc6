"""Home: the story of the backbones as a timeline, and the chosen model's top-5 for the chosen image.

The title, the story and the timeline come first, from the persisted catalog figures, so they appear
before torch has loaded; the prediction follows once the model is ready.
"""

import streamlit as st

from cvviz.i18n import _

st.title(_("From LeNet to Swin: why vision backbones look the way they do"))
st.markdown(
    _(
        "Pick a model and an image in the sidebar; every page shows that real model at work. "
        "Click a point on the timeline to switch models."
    )
)

# Imported after the title on purpose: plotly and pandas take a moment, and the words can show first.
from cvviz.plotting.story import timeline_figure  # noqa: E402
from ui.resources import summaries  # noqa: E402
from ui.sidebar import MODEL_KEY, current_selection, request_model  # noqa: E402
from ui.tables import table  # noqa: E402

left, right = st.columns([3, 2], gap="large")

with left:
    st.subheader(_("The timeline"))
    y_axis = (
        st.segmented_control(
            _("Height shows"),
            ["params", "acc1"],
            key="home.y_axis",
            default="params",
            format_func={"params": _("parameters"), "acc1": _("ImageNet top-1")}.get,
        )
        or "params"
    )
    rows = summaries()
    label = st.session_state.get(MODEL_KEY, "")
    highlighted = next((r.name for r in rows if label.startswith(f"{r.title} · ")), None)
    event = st.plotly_chart(
        timeline_figure(rows, y=y_axis, highlight=highlighted),
        key="home.timeline",
        on_select="rerun",
        selection_mode="points",
    )
    points = event.selection.points if event else []
    chosen = points[0].get("customdata") if points else None
    if isinstance(chosen, list):
        chosen = chosen[0]
    if chosen and chosen != highlighted:
        request_model(chosen)
        st.rerun()
    table(
        [
            {
                _("year"): r.year,
                _("model"): r.title,
                _("family"): r.family,
                _("key idea"): _(r.key_idea),
                _("params (M)"): round(r.params / 1e6, 2),
                "GFLOPs": round(r.flops / 1e9, 2),
                _("top-1 %"): r.acc1,
                _("top-5 %"): r.acc5,
                _("accuracy source"): r.accuracy_source or "—",
            }
            for r in rows
        ],
        hide_index=True,
        key="home.table",
        height=320,
    )
    st.caption(
        _(
            "Parameters and FLOPs are counted from each model as built here (inference-time, no auxiliary "
            "heads, at its native input size). Accuracies are the published ImageNet-1K validation figures "
            "named in the last column."
        )
    )

selection = current_selection()
with right:
    from cvviz.errors import CvvizError
    from cvviz.models.inference import to_display_image
    from cvviz.plotting.story import prediction_figure
    from ui.messages import CHOOSE_IMAGE, untrained_banner
    from ui.resources import predictions

    loaded = selection.model
    spec = loaded.spec
    st.subheader(_("{model} sees…").format(model=spec.title))
    untrained_banner(loaded)
    if selection.image is None:
        st.info(_(CHOOSE_IMAGE))
    else:
        try:
            top = predictions(loaded, selection.image).top
        except CvvizError as exc:
            st.error(str(exc))
            st.stop()
        st.image(
            to_display_image(selection.image.image, spec),
            caption=_("the {size}×{size} crop the model sees").format(size=spec.input_size),
            width=260,
        )
        st.plotly_chart(prediction_figure(top, untrained=not loaded.trained), key="home.prediction")
        st.caption(
            f"{spec.title}: {_(spec.key_idea)} — {spec.paper.authors}, [{spec.paper.title}]({spec.paper.url}), "
            f"{spec.year}."
        )
