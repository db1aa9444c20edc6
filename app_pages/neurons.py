"""What a neuron looks for: images optimised to excite a channel, beside the dataset patches that do."""

import dataclasses

import streamlit as st

from cvviz.catalog import get_family
from cvviz.errors import CvvizError
from cvviz.explain.neurons import (
    Objective,
    VisualizationSettings,
    cached_visualizations,
    estimate_seconds,
    from_folder,
    from_images,
    layer_maxima_cached,
    maxima_job,
    sample_set,
    top_patches,
    unit_field,
    visualization_job,
)
from cvviz.explain.neurons.optimize import across_models, conv_layers
from cvviz.explain.receptive_field import receptive_field_for_spec
from cvviz.i18n import N_, _
from cvviz.jobs import Job
from cvviz.plotting.neurons import (
    images_figure,
    objective_curves_figure,
    patches_figure,
    ratio_text,
    visualizations_figure,
)
from cvviz.training.loop import EPOCH_SNAPSHOTS, network_from_result
from ui.jobs import long_run
from ui.messages import untrained_banner
from ui.resources import decode_image, drawn_shapes, predictions, workbench
from ui.sidebar import current_selection
from ui.uploads import unpacked_zip

selection = current_selection()
loaded = selection.model
spec = loaded.spec
untrained_banner(loaded)
bench = workbench()

st.title(_("What a neuron looks for"))
st.markdown(
    _(
        "Two classic answers, side by side as OpenAI Microscope shows them. **Feature visualisation** starts "
        "from noise and changes the image, step by step, until one channel fires as strongly as it can — with "
        "random jitter, scaling and rotation and a decorrelated Fourier-space image, so that what survives is a "
        "pattern and not noise (Olah et al., *Feature Visualization*, Distill 2017). **Dataset examples** are "
        "the patches of real images that excite the same channel most, cropped to what one unit can see."
    )
)

# --- Layer and settings -------------------------------------------------------------------------------
per_model = f"{spec.name}.{loaded.weights.digest}"
with loaded.exclusive() as model:
    modules = [name for name, _ in model.named_modules() if name]
left, right = st.columns(2)
stage = left.selectbox(
    _("Stage output"), list(spec.stages), index=len(spec.stages) // 2, key=f"neurons.stage.{spec.name}"
)
OWN = N_("(the stage above)")
other = right.selectbox(
    _("…or any module"),
    [OWN, *modules],
    key=f"neurons.module.{spec.name}",
    format_func=lambda m: _(OWN) if m == OWN else m,
)
layer = stage if other == OWN else other

samples = sample_set()
try:
    sample_maxima = layer_maxima_cached(bench, loaded, samples, layer)
except CvvizError as exc:
    st.error(str(exc))
    st.stop()
channel_count = sample_maxima.channels

with st.expander(_("Optimisation settings")):
    c1, c2, c3 = st.columns(3)
    steps = c1.select_slider(_("Steps"), [16, 32, 64, 128, 256, 512, 1024], value=128, key="neurons.steps")
    size_options = sorted({64, 96, 128, 160, 224, spec.input_size})
    size = c1.select_slider(
        _("Image size (px)"), size_options, value=min(128, spec.input_size), key=f"neurons.size.{spec.name}"
    )
    lr = c2.select_slider(_("Learning rate"), [0.01, 0.02, 0.05, 0.1, 0.2], value=0.05, key="neurons.lr")
    seed = c2.number_input(_("Seed"), 0, 9999, 0, key="neurons.seed")
    transforms = c3.checkbox(_("Random jitter, scale and rotation"), value=True, key="neurons.transforms")
    fourier = c3.checkbox(_("Decorrelated Fourier-space image"), value=True, key="neurons.fft")
    st.caption(
        _(
            "Switch the last two off to see why they matter: without them the image that excites a channel "
            "most is high-frequency noise."
        )
    )
settings = VisualizationSettings(
    steps=steps, size=size, lr=lr, fft=fourier, decorrelate=fourier, transforms=transforms, seed=int(seed)
)
forward_s = predictions(loaded, selection.image).forward_s if selection.image is not None else 0.05


def visualize_job(objectives: list[Objective], run_settings: VisualizationSettings) -> Job:
    estimate = estimate_seconds(forward_s, spec, len(objectives), run_settings)
    return visualization_job(bench, loaded, objectives, run_settings, estimate_s=estimate)


# --- Atlas --------------------------------------------------------------------------------------------
st.subheader(_("Atlas: the first channels of {layer}").format(layer=layer))
a1, a2 = st.columns(2)
count = a1.slider(
    _("Channels"), 1, max(2, min(32, channel_count)), min(8, channel_count), key="neurons.count"
)
first = a2.number_input(
    _("Starting at channel (of {count})").format(count=channel_count),
    0,
    channel_count - 1,
    0,
    key=f"neurons.first.{per_model}.{layer}",
)
atlas_channels = list(range(int(first), min(int(first) + count, channel_count)))
atlas_objectives = [Objective.channel(layer, c) for c in atlas_channels]
atlas = long_run(
    "neurons.atlas",
    _("Visualise {count} channels").format(count=len(atlas_objectives)),
    (loaded.key, layer, tuple(atlas_channels), settings),
    lambda: visualize_job(atlas_objectives, settings),
    estimate_s=estimate_seconds(forward_s, spec, len(atlas_objectives), settings),
)
if atlas:
    st.plotly_chart(visualizations_figure(atlas), key="neurons.atlas_figure")
    ratios = sorted(r.truth_ratio for r in atlas if r.truth_ratio is not None)
    if ratios:
        st.caption(
            _(
                "The × after each channel says how far the optimised image drives it (mean activation) beyond "
                "the strongest of the {photos} sample photos (—: no photo excites it at all): the median is "
                "{ratio}×. {count} images optimised together in {seconds} s."
            ).format(
                photos=len(samples),
                ratio=f"{ratios[len(ratios) // 2]:.1f}",
                count=atlas[0].batch,
                seconds=f"{atlas[0].seconds:.0f}",
            )
        )
    with st.expander(_("How the objective rose")):
        st.plotly_chart(objective_curves_figure(atlas), key="neurons.curves")

# --- One channel: visualisation beside dataset examples -------------------------------------------------
st.subheader(_("One channel: its visualisation beside the patches that excite it"))
channel = st.number_input(
    _("Channel"), 0, channel_count - 1, atlas_channels[0], key=f"neurons.channel.{per_model}.{layer}"
)
channel = int(channel)
SOURCES = {
    "samples": N_("the sample photos"),
    "shapes": N_("the transfer lab's drawn shapes"),
    "uploads": N_("your images or a zip"),
}
source = st.radio(
    _("Search"), list(SOURCES), format_func=lambda s: _(SOURCES[s]), horizontal=True, key="neurons.source"
)
images = samples
try:
    if source == "shapes":
        shapes = drawn_shapes()
        images = from_images(list(zip(shapes.names, shapes.images)))
    elif source == "uploads":
        uploads = st.file_uploader(
            _("Images, or one zip of images"),
            type=["jpg", "jpeg", "png", "webp", "bmp", "zip"],
            accept_multiple_files=True,
            key="neurons.uploads",
        )
        zips = [u for u in uploads or [] if u.name.lower().endswith(".zip")]
        pictures = [u for u in uploads or [] if not u.name.lower().endswith(".zip")]
        archive = unpacked_zip(zips[0] if zips else None, "neurons.zip_refused")
        if archive is not None:
            images = from_folder(archive.root)
        elif pictures:
            images = from_images([(u.name, decode_image(u.getvalue()).image) for u in pictures])
        else:
            st.info(_("Upload a few images (or a zip of them) to search; until then, the sample photos."))
except CvvizError as exc:
    st.error(str(exc))
k = st.slider(_("Patches"), 1, max(2, min(16, len(images))), min(9, len(images)), key="neurons.k")

left, right = st.columns([1, 2])
with left:
    single_objective = [Objective.channel(layer, channel)]
    # Already optimised (in the atlas, say) with these settings: shown at once, no button.
    (single,) = (
        cached_visualizations(bench, loaded, single_objective, settings)
        or long_run(
            "neurons.single",
            _("Visualise channel {channel}").format(channel=channel),
            (loaded.key, layer, channel, settings),
            lambda: visualize_job(single_objective, settings),
            estimate_s=estimate_seconds(forward_s, spec, 1, settings),
        )
        or (None,)
    )
    if single is not None:
        st.plotly_chart(
            images_figure([(f"{single.objective.label} · {ratio_text(single)}", single.image)], columns=1),
            key="neurons.single_figure",
        )
with right:
    found = bench.results.get((loaded.key, images.fingerprint, "neurons.maxima", layer))[0]
    maxima = layer_maxima_cached(bench, loaded, images, layer) if found or len(images) <= 8 else None
    if maxima is None:
        maxima = long_run(
            "neurons.maxima",
            _("Search {count} images").format(count=len(images)),
            (loaded.key, images.fingerprint, layer),
            lambda: maxima_job(bench, loaded, images, layer),
            estimate_s=forward_s * len(images),
        )
    if maxima is not None:
        fields = None
        if get_family(spec).receptive_field == "convolutional":
            fields = bench.remember(
                spec.name, None, "receptive_fields", (), lambda: tuple(receptive_field_for_spec(spec))
            )
        field = unit_field(spec, layer, fields)
        patches = top_patches(maxima, images, spec, channel, k, field)
        st.plotly_chart(patches_figure(patches), key="neurons.patches")
        if field is not None:
            st.caption(
                _(
                    "Each patch is the receptive field ({height}×{width} px of the model's input) of the unit "
                    "where channel {channel} is strongest in that image; strongest image first."
                ).format(height=field.size[0], width=field.size[1], channel=channel)
            )
        else:
            st.caption(
                _("Every unit of {layer} sees the whole image, so each example is the whole crop.").format(
                    layer=layer
                )
            )

# --- Diversity ----------------------------------------------------------------------------------------
st.subheader(_("Diversity: several different images for one channel"))
st.markdown(
    _(
        "One image shows one thing a channel responds to; a channel often responds to several. Optimising "
        "several images together, with a term that pushes their styles apart, shows more of them."
    )
)
d1, d2 = st.columns(2)
variants = d1.slider(_("Images"), 2, 8, 4, key="neurons.variants")
# The diversity term is a similarity in [0, 1]; channel means run to tens, so it needs a weight this large
# to pull the images apart (each still drives its channel well above the photos).
weight = d2.select_slider(_("Diversity weight"), [0, 10, 30, 100, 300], value=100, key="neurons.diversity")
diverse_settings = dataclasses.replace(settings, diversity=float(weight))
diverse_objectives = [Objective.channel(layer, channel, variant=v) for v in range(variants)]
diverse = long_run(
    "neurons.diverse",
    _("Visualise channel {channel} {count} ways").format(channel=channel, count=variants),
    (loaded.key, layer, channel, variants, diverse_settings),
    lambda: visualize_job(diverse_objectives, diverse_settings),
    estimate_s=estimate_seconds(forward_s, spec, variants, diverse_settings),
)
if diverse:
    st.plotly_chart(visualizations_figure(diverse), key="neurons.diverse_figure")

# --- Across training ----------------------------------------------------------------------------------
st.subheader(_("The same unit across training"))
runs = st.session_state.get("train.runs", [])
if not runs:
    st.info(
        _(
            "Train a few networks in the training lab (a short run and a long one, say); this section then "
            "shows the same channel or digit as each of them learned it."
        )
    )
else:
    labels = [run["label"] for run in runs]
    ACROSS = {"runs": N_("several runs"), "epochs": N_("epochs of one run")}
    mode = (
        st.segmented_control(
            _("Compare"),
            list(ACROSS),
            default="runs",
            format_func=lambda m: _(ACROSS[m]),
            key="neurons.across_mode",
        )
        or "runs"
    )
    if mode == "runs":
        chosen = st.multiselect(
            _("Runs"), labels, default=labels[-4:], key="neurons.runs", placeholder=_("Choose options")
        )
        networks = [
            (run["label"], network_from_result(run["result"])) for run in runs if run["label"] in chosen
        ]
    else:
        picked_run = st.selectbox(_("Run"), labels, index=len(labels) - 1, key="neurons.epoch_run")
        result = next(run["result"] for run in runs if run["label"] == picked_run)
        kept = list(result.snapshot_epochs)
        step = max(1, (len(kept) - 1) // 5)
        default_epochs = sorted({*kept[::step], kept[-1]}) if kept else []
        epochs = st.multiselect(
            _("Epochs (0: the weights before training)"),
            kept,
            default=default_epochs,
            key=f"neurons.epochs.{picked_run}",
            placeholder=_("Choose options"),
        )
        st.caption(
            _(
                "A run keeps its weights at initialisation and after up to {count} epochs spread over it "
                "(the lab's networks are small); with early stopping its final network is the best epoch's."
            ).format(count=EPOCH_SNAPSHOTS)
        )
        chosen = [f"{picked_run}: {epoch}" for epoch in sorted(epochs)]
        networks = [
            (_("epoch {epoch}").format(epoch=epoch), network_from_result(result, epoch))
            for epoch in sorted(epochs)
        ]
    layers = conv_layers(networks[0][1]) if networks else []
    DIGIT = N_("a digit's score")
    t1, t2 = st.columns(2)
    what = t1.selectbox(
        _("Unit"),
        [DIGIT, *layers],
        key="neurons.train_layer",
        format_func=lambda m: _(m) if m == DIGIT else m,
    )
    last = 9 if what == DIGIT or not networks else networks[0][1].get_submodule(what).out_channels - 1
    index = int(
        t2.number_input(_("Digit or channel"), 0, last, min(3, last), key=f"neurons.train_index.{what}")
    )
    objective = Objective.logit(index) if what == DIGIT else Objective.channel(what, index)
    small = VisualizationSettings(steps=128, size=32, lr=0.05, seed=int(seed))

    def training_job() -> Job:
        return Job(
            _("Feature visualisation"),
            lambda reporter: across_models(networks, objective, small, reporter),
            estimate_s=0.02 * 128 * len(networks),
        )

    across = long_run(
        "neurons.across",
        _("Visualise across {count} runs").format(count=len(networks))
        if mode == "runs"
        else _("Visualise across {count} epochs").format(count=len(networks)),
        (mode, tuple(chosen), objective, small),
        training_job,
        disabled=not networks,
    )
    if across:
        st.plotly_chart(
            images_figure([(label, result.image) for label, result in across], columns=6, cell_px=120),
            key="neurons.across_figure",
        )
