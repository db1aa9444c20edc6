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
from cvviz.explain.saliency.library_cam import SCORE_BATCH
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

# Methods that need a kind of model (transformer relevance and rollout: a ViT's global attention) are
# offered only for it.
titles = {method.title: name for name, method in METHODS.items() if method.applies_to(spec)}
per_channel_titles = {title for title, name in titles.items() if METHODS[name].per_channel}
if any(t not in titles for t in st.session_state.get("saliency.methods", [])):
    del st.session_state["saliency.methods"]  # chosen for another model, and not offered for this one
picked = st.multiselect(
    _("Methods"), list(titles), default=["Grad-CAM"], key="saliency.methods", placeholder=_("Choose options")
)
view_kind = get_family(spec).attention
if view_kind == "global":
    st.caption(
        _(
            "For a ViT two more methods follow the class token through every layer's attention: attention "
            "rollout (Abnar & Zuidema 2020), the same for every class, and transformer relevance (Chefer et "
            "al. 2021), which weights each attention map by the class logit's gradient. The sanity check "
            "and the deletion curves below compare them with the others."
        )
    )
elif view_kind is not None:
    st.caption(
        _(
            "Transformer relevance and attention rollout follow a ViT's class token through its global "
            "attention. {model} attends inside shifted windows and merges patches between stages, so it has "
            "no class token and no fixed set of tokens to follow: they are offered for ViTs only, and the "
            "CAM family explains this model."
        ).format(model=spec.title)
    )
else:
    st.caption(
        _("Relevance and attention rollout need a Vision Transformer; this model has no self-attention.")
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
def map_key(title: str) -> tuple:
    return (titles[title], target, options)


def compute_map(private_copies: list, title: str, reporter=None) -> tuple[np.ndarray, float]:
    if not private_copies:  # one private copy of the model, made only if some map is not remembered yet
        private_copies.append(private_copy(loaded))
    load_attribution_library()
    start = time.perf_counter()
    attr_map = attribute(
        private_copies[0], spec, tensor, titles[title], target, options, reporter=reporter
    ).map
    return attr_map, time.perf_counter() - start


computed: dict[str, tuple[np.ndarray, float]] = {}
quick = [title for title in picked if title not in per_channel_titles]
if quick:
    bar = st.progress(0.0, text=_("Computing attributions…"))
    copies: list = []
    try:
        for i, title in enumerate(quick):

            def compute(i=i, title=title):
                bar.progress(i / len(quick), text=f"{title}…")
                return compute_map(copies, title)

            computed[title] = workbench().remember(
                loaded.key, loaded_image.fingerprint, "saliency", map_key(title), compute
            )
    except CvvizError as exc:
        st.error(str(exc))
    finally:
        bar.empty()
# Score-CAM and Ablation-CAM run the model once per channel of their layer: a job with progress and Stop.
for title in picked:
    if title in per_channel_titles:
        found, value = workbench().results.get(
            (loaded.key, loaded_image.fingerprint, "saliency", map_key(title))
        )
        if found:
            computed[title] = value
pending = [title for title in picked if title in per_channel_titles and title not in computed]
if pending:
    st.caption(
        _(
            "{methods}: the model runs once per channel of the CAM layer (hundreds of channels in most "
            "models), in batches of {batch} images; the run shows its progress and can be stopped."
        ).format(methods=", ".join(pending), batch=SCORE_BATCH)
    )

    def per_channel_job() -> Job:
        bench = workbench()  # taken here: the job's thread does not touch Streamlit
        chosen_titles = list(pending)

        def work(reporter):
            results, private_copies = {}, []
            for i, title in enumerate(chosen_titles):
                part = reporter.part(i / len(chosen_titles), (i + 1) / len(chosen_titles))
                part.update(0.0, _("{method}: copying the model").format(method=title))
                results[title] = bench.remember(
                    loaded.key,
                    loaded_image.fingerprint,
                    "saliency",
                    map_key(title),
                    lambda title=title, part=part: compute_map(private_copies, title, part),
                )
            return results

        return Job(_("Per-channel CAMs"), work)

    finished = long_run(
        "saliency.per_channel",
        _("Compute {methods}").format(methods=", ".join(pending)),
        (loaded.key, loaded_image.fingerprint, target, tuple(pending), options),
        per_channel_job,
    )
    if finished:
        computed.update(finished)
maps = [(title, computed[title][0]) for title in picked if title in computed]
seconds = {title: computed[title][1] for title in picked if title in computed}
if maps:
    st.plotly_chart(saliency_grid_figure(crop, maps, kind, opacity), key="saliency.grid")
    flat = [title for title, attr_map in maps if np.ptp(attr_map) == 0]
    if flat:
        st.info(
            _(
                "{methods}: the map is flat, the same value everywhere: the class score does not depend on "
                "what the method weights (with random weights a newly built ViT's classification head starts "
                "at zero, so every class logit is 0 for every image)."
            ).format(methods=", ".join(flat))
            if view_kind == "global" and not loaded.trained
            else _("{methods}: the map is flat, the same value everywhere.").format(methods=", ".join(flat))
        )
    st.caption(
        _(
            "Over the {size}×{size} crop {model} sees; maps are summed over colour channels and scaled to "
            "their own maximum."
        ).format(size=spec.input_size, model=spec.title)
    )

# --- One method across models ------------------------------------------------------------------------
st.subheader(_("One method across models"))
by_label = {model_label(s.name): s.name for s in list_models()}
if st.session_state.get("saliency.cmp_method") not in (None, *titles):
    del st.session_state["saliency.cmp_method"]  # chosen for a model this method does not apply to
compare_method = st.selectbox(
    _("Method"), list(titles), index=list(titles).index("Grad-CAM"), key="saliency.cmp_method"
)
others = [
    model_label(s.name)
    for s in list_models()
    if s.name != spec.name and METHODS[titles[compare_method]].applies_to(s)
]
if "saliency.cmp_models" in st.session_state:
    st.session_state["saliency.cmp_models"] = [
        m for m in st.session_state["saliency.cmp_models"] if m in others
    ]
compare = st.multiselect(
    _("Compare with (1–3 models)"),
    others,
    max_selections=3,
    key="saliency.cmp_models",
    placeholder=_("Choose options"),
)
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
                model,
                other_spec,
                preprocess(image, other_spec),
                titles[compare_method],
                target,
                reporter=reporter.part(i / (len(names) + 1), (i + 1) / (len(names) + 1)),
            )
            panels.append((other_spec.title, other_crop, result.map, note))
        reporter.update(1.0, _("done"))
        return panels

    return Job(_("Comparing models"), work)


one_map_s = seconds.get(compare_method) or predicted.forward_s * 3
# A per-channel CAM (a pass per channel) not computed yet has no measured time to estimate from.
unmeasured = {title for title in per_channel_titles if title not in seconds}
compare_estimate = sum(
    one_map_s * macs.get(by_label[label], 1) / max(macs.get(spec.name, 1), 1) for label in compare
)
panels = long_run(
    "saliency.compare",
    _("Compare"),
    (loaded.key, loaded_image.fingerprint, target, compare_method, tuple(compare)),
    compare_job,
    estimate_s=compare_estimate + one_map_s if compare and compare_method not in unmeasured else None,
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
            part = reporter.part(i / len(chosen_methods), (i + 1) / len(chosen_methods))

            def step(fraction: float, text: str, part=part, method=method) -> None:
                part.update(fraction, f"{METHODS[method].title}: {text}")

            results.append(
                cascading_randomisation(
                    loaded, spec, tensor, method, target, options, progress=step, reporter=part
                )
            )
        return results

    return Job(_("Sanity check"), work)


# With a per-channel CAM not measured yet, the button makes no estimate rather than a wrong one.
sanity_estimate = (
    None
    if unmeasured.intersection(picked)
    else sum(seconds.get(title, one_map_s) for title in picked) * (groups + 1)
)
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
