"""Home: the story of the backbones as a timeline, and the chosen model's top-5 for the chosen image."""

import streamlit as st

from cvviz.errors import CvvizError
from cvviz.inference import predict, to_display_image
from cvviz.plotting.story import prediction_figure, timeline_figure
from ui.messages import untrained_banner
from ui.resources import catalog_summaries
from ui.sidebar import current_selection, request_model

selection = current_selection()
loaded = selection.model
spec = loaded.spec

st.title("From LeNet to Swin: why vision backbones look the way they do")
st.markdown(
    "Pick a model and an image in the sidebar; every page shows that real model at work. "
    "Click a point on the timeline to switch models."
)

left, right = st.columns([3, 2], gap="large")
with right:
    st.subheader(f"{spec.title} sees…")
    untrained_banner(loaded)
    if selection.image is None:
        st.info("Choose a sample, upload a photo or take one with the camera (sidebar).")
    else:
        try:
            predictions = predict(loaded, selection.image.image, topk=5)
        except CvvizError as exc:
            st.error(str(exc))
            st.stop()
        st.image(
            to_display_image(selection.image.image, spec),
            caption=f"the {spec.input_size}×{spec.input_size} crop the model sees",
            width=260,
        )
        st.plotly_chart(prediction_figure(predictions, untrained=not loaded.trained), key="home.prediction")
        st.caption(
            f"{spec.title}: {spec.key_idea} — {spec.paper.authors}, [{spec.paper.title}]({spec.paper.url}), "
            f"{spec.year}."
        )

with left:
    st.subheader("The timeline")
    y_axis = (
        st.segmented_control(
            "Height shows",
            ["params", "acc1"],
            key="home.y_axis",
            default="params",
            format_func={"params": "parameters", "acc1": "ImageNet top-1"}.get,
        )
        or "params"
    )
    rows = catalog_summaries()
    event = st.plotly_chart(
        timeline_figure(rows, y=y_axis, highlight=spec.name),
        key="home.timeline",
        on_select="rerun",
        selection_mode="points",
    )
    points = event.selection.points if event else []
    chosen = points[0].get("customdata") if points else None
    if isinstance(chosen, list):
        chosen = chosen[0]
    if chosen and chosen != spec.name:
        request_model(chosen)
        st.rerun()
    st.dataframe(
        [
            {
                "year": r.year,
                "model": r.title,
                "family": r.family,
                "key idea": r.key_idea,
                "params (M)": round(r.params / 1e6, 2),
                "top-1 %": r.acc1,
                "top-5 %": r.acc5,
                "accuracy source": r.accuracy_source or "—",
            }
            for r in rows
        ],
        hide_index=True,
        key="home.table",
        height=320,
    )
    st.caption(
        "Parameters are counted from each model as built here (inference-time, no auxiliary heads). "
        "Accuracies are the published ImageNet-1K validation figures named in the last column."
    )
