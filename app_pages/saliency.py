"""Saliency: which pixels drove the prediction, by several attribution methods, with sanity checks."""

import numpy as np
import streamlit as st

from cvviz.catalog import get_family, list_models
from cvviz.errors import CvvizError
from cvviz.explain.saliency import BASELINES, METHODS, VIEWS, SaliencyOptions, attribute, private_copy
from cvviz.explain.saliency.faithfulness import perturbation_curve
from cvviz.explain.saliency.sanity import cascading_randomisation
from cvviz.models.inference import predict, preprocess, to_display_image
from cvviz.plotting.saliency import curves_figure, saliency_grid_figure, sanity_figure
from cvviz.plotting.story import prediction_figure
from ui.messages import require, untrained_banner
from ui.resources import load_model, workbench
from ui.sidebar import current_selection, model_label

selection = current_selection()
loaded = selection.model
spec = loaded.spec
untrained_banner(loaded)
st.title("Saliency: which pixels drove the prediction?")
st.markdown(
    "Attribution methods credit each input pixel with part of one class score. They disagree, and some "
    "barely depend on the model at all — the sanity check below shows which (Adebayo et al. 2018)."
)
loaded_image = require(
    selection.image, "Choose a sample, upload a photo or take one with the camera (sidebar)."
)
image = loaded_image.image
crop = np.asarray(to_display_image(image, spec).convert("RGB"))
tensor = preprocess(image, spec)

predictions = predict(loaded, image, topk=5)
left, right = st.columns([2, 3])
with left:
    st.plotly_chart(prediction_figure(predictions, untrained=not loaded.trained), key="saliency.top5")
with right:
    use_top1 = st.checkbox("Explain the top-1 prediction", value=True, key="saliency.use_top1")
    class_options = [f"{i}: {label}" for i, label in enumerate(spec.categories)]
    chosen = st.selectbox(
        "Or explain any class (type to search)",
        class_options,
        index=predictions[0].index,
        key="saliency.target",
        disabled=use_top1,
    )
    target = predictions[0].index if use_top1 else int(chosen.split(":", 1)[0])
    st.caption(f"Explaining class **{target}: {spec.categories[target]}**.")

titles = {method.title: name for name, method in METHODS.items()}
picked = st.multiselect("Methods", list(titles), default=["Grad-CAM"], key="saliency.methods")
with st.expander("Method parameters"):
    c1, c2, c3 = st.columns(3)
    steps = c1.slider("Integrated Gradients steps", 8, 128, 32, key="saliency.steps")
    baseline = c1.selectbox(
        "Baseline (IG, DeepLift, GradientShap, Occlusion)", BASELINES, key="saliency.baseline"
    )
    n_samples = c2.slider("Noise samples (SmoothGrad, GradientShap)", 2, 50, 16, key="saliency.n_samples")
    stdevs = c2.slider("Noise level (fraction of input range)", 0.0, 0.5, 0.15, key="saliency.stdevs")
    window = c3.slider("Occlusion window (px)", 8, 64, 32, step=8, key="saliency.window")
    stride = c3.slider("Occlusion stride (px)", 4, 64, 16, step=4, key="saliency.stride")
    layer = st.text_input("Grad-CAM layer", value=get_family(spec).cam_layer(spec), key="saliency.layer")
options = SaliencyOptions(
    steps=steps,
    baseline=baseline,
    n_samples=n_samples,
    stdevs=stdevs,
    window=window,
    stride=stride,
    layer=layer,
)
v1, v2 = st.columns(2)
kind = v1.segmented_control("View", list(VIEWS), default="absolute", key="saliency.view") or "absolute"
opacity = v2.slider("Overlay opacity", 0.0, 1.0, 0.6, key="saliency.opacity")

# Maps already computed for this model, image, class and options are reused, so changing the view or
# the opacity does not recompute them.
maps = []
if picked:
    bar = st.progress(0.0, text="Computing attributions…")
    copies = []  # one private copy of the model, made only if some map is not remembered yet
    try:
        for i, title in enumerate(picked):

            def compute(i=i, title=title):
                bar.progress(i / len(picked), text=f"{title}…")
                if not copies:
                    copies.append(private_copy(loaded))
                return attribute(copies[0], spec, tensor, titles[title], target, options).map

            attr_map = workbench().remember(
                loaded.key, loaded_image.fingerprint, "saliency", (titles[title], target, options), compute
            )
            maps.append((title, attr_map))
    except CvvizError as exc:
        st.error(str(exc))
    finally:
        bar.empty()
if maps:
    st.plotly_chart(saliency_grid_figure(crop, maps, kind, opacity), key="saliency.grid")
    st.caption(
        f"Over the {spec.input_size}×{spec.input_size} crop {spec.title} sees; maps are summed over colour "
        "channels and scaled to their own maximum."
    )

st.subheader("One method across models")
others = [model_label(s.name) for s in list_models() if s.name != spec.name]
by_label = {model_label(s.name): s.name for s in list_models()}
compare_method = st.selectbox(
    "Method", list(titles), index=list(titles).index("Grad-CAM"), key="saliency.cmp_method"
)
compare = st.multiselect("Compare with (1–3 models)", others, max_selections=3, key="saliency.cmp_models")
if compare and st.button("Compare", key="saliency.cmp_run"):
    panels = [(spec.title, loaded)]
    for label in compare:
        other, fallback = load_model(by_label[label], "pretrained")
        if fallback:
            st.info(fallback.sentence)
        panels.append((other.spec.title, other))
    bar = st.progress(0.0, text="Computing…")
    cols = st.columns(len(panels))
    try:
        for i, (title, model) in enumerate(panels):
            bar.progress(i / len(panels), text=title)
            other_crop = np.asarray(to_display_image(image, model.spec).convert("RGB"))
            result = attribute(
                model, model.spec, preprocess(image, model.spec), titles[compare_method], target
            )
            with cols[i]:
                st.plotly_chart(
                    saliency_grid_figure(other_crop, [(title, result.map)], kind, opacity),
                    key=f"saliency.cmp.{i}",
                )
    except CvvizError as exc:
        st.error(str(exc))
    finally:
        bar.empty()

st.subheader("Sanity check: cascading randomisation")
st.markdown(
    "Re-initialise the model from the classifier down, stage by stage, and recompute the map. A map that "
    "explains the model should stop resembling the original (similarity falls towards 0)."
)
if picked and st.button("Run sanity check", key="saliency.sanity_run"):
    bar = st.progress(0.0, text="Randomising…")
    results = []
    try:
        for i, title in enumerate(picked):
            results.append(
                cascading_randomisation(
                    loaded,
                    spec,
                    tensor,
                    titles[title],
                    target,
                    options,
                    progress=lambda f, text, i=i, title=title: bar.progress(
                        (i + f) / len(picked), text=f"{title}: {text}"
                    ),
                )
            )
    except CvvizError as exc:
        st.error(str(exc))
    finally:
        bar.empty()
    if results:
        metric = st.radio("Similarity", ["spearman", "ssim"], horizontal=True, key="saliency.sanity_metric")
        st.plotly_chart(sanity_figure(results, metric), key="saliency.sanity")

st.subheader("Faithfulness: deletion and insertion")
st.markdown(
    "Delete the most salient pixels first (to black) and watch the class probability: a faithful map makes it "
    "fall fast (low AUC). Insert them into a blurred image: it should rise fast (high AUC) — Petsiuk et al. 2018."
)
curve_steps = st.slider("Steps", 5, 50, 20, key="saliency.curve_steps")
if maps and st.button("Compute curves", key="saliency.curves_run"):
    curves = []
    bar = st.progress(0.0, text="Deleting and inserting…")
    for i, (title, attr_map) in enumerate(maps):
        for kind_name in ("deletion", "insertion"):
            curves.append(
                (
                    title,
                    perturbation_curve(loaded, spec, tensor, attr_map, target, kind_name, steps=curve_steps),
                )
            )
        bar.progress((i + 1) / len(maps))
    bar.empty()
    st.plotly_chart(curves_figure(curves), key="saliency.curves")
