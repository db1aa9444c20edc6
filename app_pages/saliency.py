"""Saliency: which pixels drove the prediction, by several attribution methods, with sanity checks."""

import time

import numpy as np
import streamlit as st

from cvviz.catalog import get_family, get_spec, list_models
from cvviz.errors import CvvizError
from cvviz.explain.saliency import (
    BASELINES,
    METHODS,
    VIEWS,
    SaliencyOptions,
    attribute,
    load_attribution_library,
    private_copy,
)
from cvviz.explain.saliency.faithfulness import perturbation_curve
from cvviz.explain.saliency.sanity import cascading_randomisation, randomisation_groups
from cvviz.i18n import N_, _
from cvviz.jobs import Job
from cvviz.measure.profiling import available_weights
from cvviz.models.build import build_on_meta
from cvviz.models.inference import preprocess, to_display_image
from cvviz.plotting.saliency import curves_figure, saliency_grid_figure, sanity_figure
from cvviz.plotting.story import prediction_figure
from ui.jobs import long_run
from ui.messages import CHOOSE_IMAGE, require, untrained_banner
from ui.resources import predictions, summaries, workbench
from ui.sidebar import current_selection, model_label

selection = current_selection()
loaded = selection.model
spec = loaded.spec
untrained_banner(loaded)
# The library's option values, as the visitor reads them.
OPTION_LABELS = {
    "black": N_("black"),
    "blur": N_("blur"),
    "noise": N_("noise"),
    "absolute": N_("absolute"),
    "positive": N_("positive"),
    "negative": N_("negative"),
    "signed": N_("signed"),
    "deletion": N_("deletion"),
    "insertion": N_("insertion"),
}


def option_label(value: str) -> str:
    return _(OPTION_LABELS.get(value, value))


st.title(_("Saliency: which pixels drove the prediction?"))
st.markdown(
    _(
        "Attribution methods credit each input pixel with part of one class score. They disagree, and some "
        "barely depend on the model at all — the sanity check below shows which (Adebayo et al. 2018)."
    )
)
loaded_image = require(selection.image, CHOOSE_IMAGE)
image = loaded_image.image
crop = np.asarray(to_display_image(image, spec).convert("RGB"))
tensor = preprocess(image, spec)
# Controls whose choices belong to one model (its classes, its layers) or one image are keyed by them, so
# they start from a valid default whenever the model or the image changes.
per_model = f"{spec.name}.{loaded.weights.digest}"
per_image = f"{per_model}.{loaded_image.fingerprint}"

predicted = predictions(loaded, loaded_image)
left, right = st.columns([2, 3])
with left:
    st.plotly_chart(prediction_figure(predicted.top, untrained=not loaded.trained), key="saliency.top5")
with right:
    top = predicted.top[0]
    class_options = [_("top-1: {index}: {label}").format(index=top.index, label=top.label)] + [
        f"{i}: {label}" for i, label in enumerate(spec.categories)
    ]
    chosen = st.selectbox(
        _("Class to explain (type to search)"), class_options, key=f"saliency.target.{per_image}"
    )
    target = top.index if chosen == class_options[0] else int(chosen.split(":", 1)[0])
    st.caption(
        _("Explaining class **{index}: {label}**.").format(index=target, label=spec.categories[target])
    )

titles = {method.title: name for name, method in METHODS.items()}
picked = st.multiselect(_("Methods"), list(titles), default=["Grad-CAM"], key="saliency.methods")
slow = [title for title in picked if METHODS[titles[title]].per_channel]
if slow:
    st.caption(
        _(
            "{methods}: the model runs once per channel of the CAM layer (hundreds of channels in most "
            "models), which takes minutes on a CPU."
        ).format(methods=", ".join(slow))
    )
with st.expander(_("Method parameters")):
    c1, c2, c3 = st.columns(3)
    steps = c1.slider(_("Integrated Gradients steps"), 8, 128, 32, key="saliency.steps")
    baseline = c1.selectbox(
        _("Baseline (IG, DeepLift, GradientShap, Occlusion)"),
        BASELINES,
        key="saliency.baseline",
        format_func=option_label,
    )
    n_samples = c2.slider(_("Noise samples (SmoothGrad, GradientShap)"), 2, 50, 16, key="saliency.n_samples")
    stdevs = c2.slider(_("Noise level (fraction of input range)"), 0.0, 0.5, 0.15, key="saliency.stdevs")
    window = c3.slider(_("Occlusion window (px)"), 8, 64, 32, step=8, key="saliency.window")
    stride = c3.slider(_("Occlusion stride (px)"), 4, 64, 16, step=4, key="saliency.stride")
    layer = st.text_input(
        _("Grad-CAM layer"), value=get_family(spec).cam_layer(spec), key=f"saliency.layer.{per_model}"
    )
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
kind = (
    v1.segmented_control(
        _("View"), list(VIEWS), default="absolute", key="saliency.view", format_func=option_label
    )
    or "absolute"
)
opacity = v2.slider(_("Overlay opacity"), 0.0, 1.0, 0.6, key="saliency.opacity")

# Maps already computed for this model, image, class and options are reused, so changing the view or
# the opacity redraws without recomputing. Each remembers how long it took, for the estimates below.
maps, seconds = [], {}
if picked:
    bar = st.progress(0.0, text=_("Computing attributions…"))
    copies = []  # one private copy of the model, made only if some map is not remembered yet
    try:
        for i, title in enumerate(picked):

            def compute(i=i, title=title):
                bar.progress(i / len(picked), text=f"{title}…")
                if not copies:
                    copies.append(private_copy(loaded))
                load_attribution_library()
                start = time.perf_counter()
                attr_map = attribute(copies[0], spec, tensor, titles[title], target, options).map
                return attr_map, time.perf_counter() - start

            attr_map, seconds[title] = workbench().remember(
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
        _(
            "Over the {size}×{size} crop {model} sees; maps are summed over colour channels and scaled to "
            "their own maximum."
        ).format(size=spec.input_size, model=spec.title)
    )

# --- One method across models ------------------------------------------------------------------------
st.subheader(_("One method across models"))
others = [model_label(s.name) for s in list_models() if s.name != spec.name]
by_label = {model_label(s.name): s.name for s in list_models()}
compare_method = st.selectbox(
    _("Method"), list(titles), index=list(titles).index("Grad-CAM"), key="saliency.cmp_method"
)
compare = st.multiselect(_("Compare with (1–3 models)"), others, max_selections=3, key="saliency.cmp_models")
macs = {row.name: row.macs for row in summaries()}


def compare_job() -> Job:
    names = [by_label[label] for label in compare]
    bench = workbench()  # taken here: the job's thread does not touch Streamlit

    def work(reporter):
        panels = []
        for i, name in enumerate([spec.name, *names]):
            reporter.update(
                i / (len(names) + 1), _("{model}: loading and attributing").format(model=model_label(name))
            )
            other_spec = get_spec(name)
            weights = (
                "pretrained"
                if name != spec.name and available_weights(other_spec) == "pretrained"
                else "random"
            )
            model = loaded if name == spec.name else bench.get(name, weights)
            note = (
                ""
                if model.trained
                else _("{model}: no trained weights here, so random weights.").format(model=other_spec.title)
            )
            other_crop = np.asarray(to_display_image(image, other_spec).convert("RGB"))
            result = attribute(
                model, other_spec, preprocess(image, other_spec), titles[compare_method], target
            )
            panels.append((other_spec.title, other_crop, result.map, note))
        reporter.update(1.0, _("done"))
        return panels

    return Job(_("Comparing models"), work)


one_map_s = seconds.get(compare_method) or predicted.forward_s * 3
compare_estimate = sum(
    one_map_s * macs.get(by_label[label], 1) / max(macs.get(spec.name, 1), 1) for label in compare
)
panels = long_run(
    "saliency.compare",
    _("Compare"),
    (loaded.key, loaded_image.fingerprint, target, compare_method, tuple(compare)),
    compare_job,
    estimate_s=compare_estimate + one_map_s if compare else None,
    disabled=not compare,
)
if panels:
    for column, (title, other_crop, attr_map, note) in zip(st.columns(len(panels)), panels):
        with column:
            st.plotly_chart(
                saliency_grid_figure(other_crop, [(title, attr_map)], kind, opacity),
                key=f"saliency.cmp.{title}",
            )
            if note:
                st.caption(note)

# --- Sanity check ----------------------------------------------------------------------------------
st.subheader(_("Sanity check: cascading randomisation"))
st.markdown(
    _(
        "Re-initialise the model from the classifier down, stage by stage, and recompute the map. A map that "
        "explains the model should stop resembling the original (similarity falls towards 0)."
    )
)
groups = workbench().remember(
    spec.name, None, "sanity.groups", (), lambda: len(randomisation_groups(build_on_meta(spec), spec.stages))
)


def sanity_job() -> Job:
    chosen_methods = [titles[title] for title in picked]

    def work(reporter):
        results = []
        for i, method in enumerate(chosen_methods):

            def step(fraction: float, text: str, i=i, method=method) -> None:
                reporter.update((i + fraction) / len(chosen_methods), f"{METHODS[method].title}: {text}")

            results.append(
                cascading_randomisation(loaded, spec, tensor, method, target, options, progress=step)
            )
        return results

    return Job(_("Sanity check"), work)


sanity_estimate = sum(seconds.get(title, one_map_s) for title in picked) * (groups + 1)
results = long_run(
    "saliency.sanity",
    _("Run sanity check"),
    (loaded.key, loaded_image.fingerprint, target, tuple(picked), options),
    sanity_job,
    estimate_s=sanity_estimate,
    disabled=not picked,
)
if results:
    metric = st.radio(_("Similarity"), ["spearman", "ssim"], horizontal=True, key="saliency.sanity_metric")
    st.plotly_chart(sanity_figure(results, metric), key="saliency.sanity")

# --- Faithfulness ------------------------------------------------------------------------------------
st.subheader(_("Faithfulness: deletion and insertion"))
st.markdown(
    _(
        "Delete the most salient pixels first (to black) and watch the class probability: a faithful map "
        "makes it fall fast (low AUC). Insert them into a blurred image: it should rise fast (high AUC) — "
        "Petsiuk et al. 2018."
    )
)
curve_steps = st.slider(_("Steps"), 5, 50, 20, key="saliency.curve_steps")


def curves_job() -> Job:
    chosen_maps = list(maps)

    def work(reporter):
        curves = []
        for i, (title, attr_map) in enumerate(chosen_maps):
            for j, kind_name in enumerate(("deletion", "insertion")):
                reporter.update((2 * i + j) / (2 * len(chosen_maps)), f"{title}: {option_label(kind_name)}")
                curve = perturbation_curve(
                    loaded, spec, tensor, attr_map, target, kind_name, steps=curve_steps
                )
                curves.append((title, curve))
        return curves

    return Job(_("Deletion and insertion"), work)


curves = long_run(
    "saliency.curves",
    _("Compute curves"),
    (loaded.key, loaded_image.fingerprint, target, tuple(picked), options, curve_steps),
    curves_job,
    estimate_s=len(maps) * 2 * (curve_steps + 1) * predicted.forward_s,
    disabled=not maps,
)
if curves:
    st.plotly_chart(curves_figure(curves), key="saliency.curves")
