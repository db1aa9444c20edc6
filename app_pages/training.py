"""Training lab: train a small network on handwritten digits, live on the CPU, and watch it learn."""

import hashlib
import time

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from cvviz.errors import CvvizError
from cvviz.i18n import N_, _
from cvviz.jobs import Job, describe_seconds
from cvviz.models.architectures.options import ACTIVATIONS, NORMS
from cvviz.plotting.picking import picked_cell
from cvviz.plotting.training import (
    confusion_figure,
    curves_figure,
    depth_profile_figure,
    digit_steps_figure,
    filters_figure,
    gradient_norms_figure,
    histograms_figure,
    probabilities_figure,
    search_figure,
    shift_figure,
)
from cvviz.training import DATASETS, INITS, MODELS, OPTIMIZERS, SCHEDULES, TrainingConfig, training_job
from cvviz.training.crossval import cross_validate
from cvviz.training.data import load_dataset
from cvviz.training.experiments import POSITIONS, gradient_depth_profile, shift_robustness
from cvviz.training.loop import (
    PROBE_IMAGES,
    SPLIT_SEED,
    confusion_examples,
    digit_steps,
    network_from_progress,
    read_digit,
)
from cvviz.training.search import METHODS as SEARCH_METHODS
from cvviz.training.search import search
from cvviz.training.timing import (
    StepTiming,
    cross_validation_seconds,
    gradient_profile_seconds,
    measure_step,
    robustness_seconds,
    run_seconds,
    timing_config,
)
from ui.jobs import POLL_S, live_run, long_run
from ui.kiosk import kiosk_settings
from ui.resources import decode_image
from ui.sidebar import TRAINED_LABEL, offer_trained_model, request_trained_model, trained_model

RUNS = "train.runs"
# Runs a session keeps (the oldest goes first): each holds its weights and its filters' history. (A bare
# string here would be drawn on the page by Streamlit's magic.)
MAX_RUNS = 12
DEFAULT = TrainingConfig()
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2, 3e-2, 0.05, 0.1, 0.3, 1.0, 10.0, 1000.0)
DATASET_TITLES = {
    "digits": N_("Digits (bundled, 1,797 images)"),
    "mnist": "MNIST",
    "fashion_mnist": "Fashion-MNIST",
}
NORM_TITLES = {
    "none": N_("none"), "batch": N_("batch normalisation"), "layer": N_("layer normalisation"),
    "group": N_("group normalisation"),
}  # fmt: skip
OPTIMIZER_TITLES = {
    "sgd": "SGD", "momentum": N_("SGD + momentum"), "nesterov": N_("SGD + Nesterov momentum"), "adagrad": "AdaGrad",
    "rmsprop": "RMSProp", "adam": "Adam", "adamw": "AdamW",
}  # fmt: skip
INIT_TITLES = {
    "default": N_("PyTorch default"), "xavier": "Xavier/Glorot", "he": "He/Kaiming", "zeros": N_("zeros"),
    "large": N_("too large: N(0, 1)"),
}  # fmt: skip
SCHEDULE_TITLES = {
    "constant": N_("constant"),
    "step": N_("step: ×0.1 after each third"),
    "cosine": N_("cosine decay to zero"),
    "onecycle": N_("one-cycle: warm up, then anneal"),
}
# The drawing canvas's side: ten times MNIST's 28 pixels, so a finger-wide stroke is like a pen's in MNIST.
CANVAS_PX = 280
STROKE_PX = 22
LIVE_CHART_S = 2.0
OWN_ACTIVATION = "model's own"
OWN_ACTIVATION_TITLE = N_("the network's own")
RUN_LABEL = N_("run {number}")


@st.cache_resource(show_spinner=False)
def dataset(name: str):
    """The data set and its fixed split, shared by every session."""
    return load_dataset(name, seed=SPLIT_SEED)


@st.cache_data(show_spinner=False, max_entries=64)
def step_timing(config: TrainingConfig) -> StepTiming:
    """One training step and one forward pass of ``config``'s network, timed on this machine (once per
    distinct network and batch size): every estimate on the page comes from it."""
    return measure_step(config, dataset(config.dataset))


def timing_of(config: TrainingConfig) -> StepTiming:
    return step_timing(timing_config(config))


st.title(_("Training lab"))
st.caption(
    _(
        "Train a small network on handwritten digits on the CPU, in seconds, and watch it learn: the loss, "
        "every layer's gradients, the first layer's filters and the mistakes it still makes."
    )
)
st.session_state.setdefault(RUNS, [])

left, middle, right = st.columns(3)
data_name = left.selectbox(
    _("Data set"), DATASETS, format_func=lambda name: _(DATASET_TITLES[name]), key="train.dataset"
)
try:
    with st.spinner(_("Preparing the images…")):
        data = dataset(data_name)
except CvvizError as exc:
    st.error(str(exc))
    st.stop()
st.info(f"{data.info.summary} {_(data.info.preprocessing)}", icon=":material/dataset:")

model_name = left.selectbox(
    _("Network"), tuple(MODELS), format_func=lambda n: _(MODELS[n].title), key="train.model"
)
left.caption(_(MODELS[model_name].description))
depth = DEFAULT.depth
if MODELS[model_name].takes_depth:
    depth = left.slider(_("Depth (blocks)"), 2, 40, DEFAULT.depth, key="train.depth")
activation = left.selectbox(
    _("Activation"),
    (OWN_ACTIVATION, *ACTIVATIONS),
    format_func=lambda name: _(OWN_ACTIVATION_TITLE) if name == OWN_ACTIVATION else name,
    key="train.activation",
    help=_("{network} uses {activation} by default.").format(
        network=_(MODELS[model_name].title), activation=MODELS[model_name].default_activation
    ),
)
norm = left.selectbox(
    _("Normalisation"), NORMS, format_func=lambda name: _(NORM_TITLES[name]), key="train.norm"
)
init = left.selectbox(
    _("Initialisation"), INITS, format_func=lambda name: _(INIT_TITLES[name]), key="train.init"
)

optimizer = middle.selectbox(
    _("Optimiser"), OPTIMIZERS, index=OPTIMIZERS.index(DEFAULT.optimizer),
    format_func=lambda name: _(OPTIMIZER_TITLES[name]),
    key="train.optimizer",
)  # fmt: skip
lr = middle.select_slider(
    _("Learning rate (peak)"),
    LEARNING_RATES,
    value=DEFAULT.lr,
    key="train.lr",
    format_func=lambda v: f"{v:g}",
)
schedule = middle.selectbox(
    _("Schedule"),
    SCHEDULES,
    index=SCHEDULES.index(DEFAULT.schedule),
    format_func=lambda name: _(SCHEDULE_TITLES[name]),
    key="train.schedule",
    help=_("How the learning rate changes over the run; it peaks at the rate chosen above."),
)
batch_size = middle.select_slider(
    _("Batch size"), (8, 16, 32, 64, 128, 256), value=DEFAULT.batch_size, key="train.batch"
)
epochs = middle.slider(_("Epochs"), 1, 60, DEFAULT.epochs, key="train.epochs")

dropout = right.slider(_("Dropout"), 0.0, 0.8, DEFAULT.dropout, step=0.05, key="train.dropout")
weight_decay = right.select_slider(
    _("Weight decay"), (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1), value=DEFAULT.weight_decay, key="train.decay",
    format_func=lambda v: f"{v:g}",
)  # fmt: skip
augment = right.toggle(_("Augment (random shift, rotation, scale)"), key="train.augment")
patience = right.number_input(
    _("Early-stopping patience (0 = off)"), 0, 50, 0, key="train.patience",
    help=_("Stop after this many epochs without a better validation loss, and keep the best epoch's weights."),
)  # fmt: skip
seed = right.number_input(_("Seed"), 0, 10**6, DEFAULT.seed, key="train.seed")

try:
    config = TrainingConfig(
        model=model_name,
        dataset=data_name,
        epochs=int(epochs),
        batch_size=int(batch_size),
        optimizer=optimizer,
        lr=float(lr),
        schedule=schedule,
        weight_decay=float(weight_decay),
        activation=None if activation == OWN_ACTIVATION else activation,
        norm=norm,
        dropout=float(dropout),
        init=init,
        augment=bool(augment),
        patience=int(patience) or None,
        depth=int(depth),
        seed=int(seed),
    )
except CvvizError as exc:
    st.error(str(exc))
    st.stop()


settings = kiosk_settings()
if settings.job_time_limit is not None:
    st.caption(
        _("On this screen a run stops after {seconds} s and keeps what it has learned by then.").format(
            seconds=f"{settings.job_time_limit:g}"
        )
    )


def start_training():
    live = training_job(config, dataset=data)
    st.session_state["train.live_log"] = live.log
    return live.job


def running_log():
    """The log of this session's run while it trains, else None."""
    slot = st.session_state.get("train.live")
    if slot is None or slot["job"].status().finished:
        return None
    return st.session_state.get("train.live_log")


def draw_live() -> None:
    """The running job's charts. What they show changes once an epoch, so they are built once an epoch
    and the same figures are sent on the polls between (building and drawing them twice a second would
    take the CPU the training needs)."""
    log = st.session_state.get("train.live_log")
    progress = log.snapshot() if log is not None else None
    if progress is None:
        return
    cached = st.session_state.get("train.live_figures")
    if cached is None or cached[0] is not log or cached[1] != len(progress.epochs):
        previous = [(run["label"], run["result"].epochs) for run in st.session_state[RUNS]]
        figures = []
        if progress.epochs:
            figures.append((None, curves_figure([*previous, (_("this run"), progress.epochs)])))
        if progress.steps:
            figures.append((None, gradient_norms_figure(progress.gradient_norms, progress.layers)))
        if progress.filters is not None:
            figures.append((None, filters_figure(progress.filters)))
        if progress.weight_histograms:
            after = (
                _("after epoch {epoch}").format(epoch=len(progress.epochs))
                if progress.epochs
                else _("at initialisation")
            )
            figures.append(
                (_("Weights of each layer, {when}.").format(when=after),
                 histograms_figure(progress.weight_histograms, _("weights")))
            )  # fmt: skip
            figures.append(
                (_("Activations of each layer on {n} validation images, {when}.").format(
                    n=min(PROBE_IMAGES, data.info.val_images), when=after),
                 histograms_figure(progress.activation_histograms, _("activations")))
            )  # fmt: skip
        cached = (log, len(progress.epochs), figures)
        st.session_state["train.live_figures"] = cached
    for index, (caption, figure) in enumerate(cached[2]):
        if caption:
            st.caption(caption)
        st.plotly_chart(figure, key=f"train.live.{index}")


def keep_for_other_pages(label: str, result) -> bool:
    """Offer a run to the sidebar as "LeNet-5 · trained here" if its state_dict loads into the catalog's
    LeNet-5; False for the networks that do not."""
    name = result.config.catalog_model
    if name is None:
        return False
    summary = _("{run}: {accuracy} test accuracy after {epochs} epochs on {data}.").format(
        run=label,
        accuracy=f"{100 * result.test_acc:.1f}%",
        epochs=len(result.epochs),
        data=result.progress.info.title,
    )
    offer_trained_model(name, result.state_dict_bytes(), summary)
    return True


# One container holds the button, the live view and what a finished run says, so that the drawing canvas
# below keeps its place in the page (and its drawing) whatever appears here.
with st.container():
    if running_log() is None:
        st.caption(
            _("A run with these settings: {time} on this machine (from a timed training step).").format(
                time=describe_seconds(run_seconds(config, data, timing_of(config)))
            )
        )
    finished = live_run("train", _("Train"), start_training, draw_live)
    if finished is not None:
        status = finished.status()
        if status.state == "done":
            result = finished.result
            number = st.session_state.get("train.count", 0) + 1
            st.session_state["train.count"] = number
            label = _(RUN_LABEL).format(number=number)
            st.session_state[RUNS].append({"label": label, "result": result})
            del st.session_state[RUNS][:-MAX_RUNS]
            keep_for_other_pages(label, result)
            if result.time_limited:
                st.info(
                    _(
                        "This screen's limit of {seconds} s stopped the run during epoch {epoch}; it kept the "
                        "weights it had then."
                    ).format(seconds=f"{finished.time_limit_s:g}", epoch=max(len(result.epochs), 1))
                )
        elif status.state == "failed":
            st.error(status.error)
        else:
            st.info(_("Training was stopped; nothing was kept."))

runs = st.session_state[RUNS]
labels = [run["label"] for run in runs]


def draw_a_digit() -> None:
    """A canvas to draw a digit on (or a photo of one), its MNIST preparation step by step, and a
    network's reading of it: the run in progress as it learns, or a finished run."""
    st.header(_("Draw a digit"))
    st.caption(
        _(
            "Draw one digit, large, in the box. It is prepared exactly as the training digits were: "
            "cropped to the ink, fitted in 20×20 keeping its aspect ratio, centred by its centre of mass "
            "in 28×28 (the red cross) and padded to 32×32."
        )
    )
    left, right = st.columns([1, 2], gap="large")
    with left:
        drawing = st_canvas(
            stroke_width=STROKE_PX,
            stroke_color="#000000",
            background_color="#ffffff",
            height=CANVAS_PX,
            width=CANVAS_PX,
            drawing_mode="freedraw",
            return_image_data=True,
            key="train.canvas",
        )
        with st.expander(_("…or a photo of a digit")):
            upload = st.file_uploader(
                _("A photo or scan of one digit (dark ink on light paper works)"),
                type=["png", "jpg", "jpeg", "webp", "bmp"],
                key="train.digit",
            )
    picture = None
    if upload is not None:
        try:
            picture = decode_image(upload.getvalue()).image
        except CvvizError as exc:
            right.error(str(exc))
            return
    elif drawing.image_data is not None:
        picture = drawing.image_data
    with right:
        if running_log() is None and runs:
            st.selectbox(_("Read with"), labels, index=len(labels) - 1, key="train.reader")
        reading_panel(picture)


def reading_panel(picture) -> None:
    """The preparation and the reading, redrawn twice a second while a run trains (with its newest
    weights), once otherwise."""
    live = running_log() is not None

    @st.fragment(run_every=POLL_S if live else None)
    def panel() -> None:
        if picture is None:
            st.info(_("There is nothing drawn: draw a digit or upload a photo of one."))
            return
        try:
            steps = digit_steps(picture)
        except CvvizError as exc:
            st.info(str(exc))
            return
        st.plotly_chart(digit_steps_figure(steps), key="train.steps")
        network, who = reader()
        if network is None:
            st.info(_("Train a network (above) to see it read your digit; it reads it as it learns."))
            return
        digest = hashlib.sha1(steps.padded.tobytes()).hexdigest()
        cached = st.session_state.get("train.reading_cache")
        if cached is None or cached[0] != (who, digest):
            cached = ((who, digest), read_digit(network(), picture))
            st.session_state["train.reading_cache"] = cached
        reading = cached[1]
        classes = data.info.classes if live else chosen_reader()["result"].progress.info.classes
        st.markdown(
            _("{who} reads it as **{digit}** ({probability}).").format(
                who=who,
                digit=classes[reading.best],
                probability=f"{100 * reading.probabilities[reading.best]:.1f}%",
            )
        )
        # A chart replaced on every poll never finishes drawing: while a run trains, its bars follow the
        # reading every LIVE_CHART_S seconds (the sentence above follows it on every poll).
        chart = st.session_state.get("train.reading_chart")
        now = time.monotonic()
        if (
            chart is None
            or chart[0] != digest
            or chart[1] != live
            or now - chart[2] >= LIVE_CHART_S
            or not live
        ):
            chart = (digest, live, now, probabilities_figure(reading.probabilities, classes))
            st.session_state["train.reading_chart"] = chart
        st.plotly_chart(chart[3], key="train.reading")

    panel()


def chosen_reader() -> dict:
    chosen = st.session_state.get("train.reader")
    return next((run for run in runs if run["label"] == chosen), runs[-1])


def reader():
    """(a function building the network that reads the drawing, a name for it that changes whenever its
    weights do), or (None, "") when there is none."""
    log = running_log()
    if log is not None:
        progress = log.snapshot()
        if progress is None or progress.weights is None:
            return None, ""
        who = _("The run in progress, after step {step},").format(step=progress.weights_step)
        return (lambda: network_from_progress(progress)), who
    if not runs:
        return None, ""
    run = chosen_reader()
    return (lambda: run["result"]), run["label"].capitalize()


def show_runs() -> None:
    """The session's runs compared, and one of them inspected."""
    st.header(_("Runs this session"))
    st.dataframe(
        [
            {
                _("run"): run["label"],
                _("test accuracy"): f"{100 * run['result'].test_acc:.2f}%",
                _("best epoch"): run["result"].best_epoch,
                _("seconds"): round(run["result"].seconds, 1),
                _("settings"): run["result"].config.describe(),
            }
            for run in runs
        ],
        hide_index=True,
    )
    compared = st.multiselect(
        _("Overlay"), labels, default=labels[-4:], key="train.compare", placeholder=_("Choose options")
    )
    shown = [run for run in runs if run["label"] in compared]
    if shown:
        st.plotly_chart(
            curves_figure([(run["label"], run["result"].epochs) for run in shown]), key="train.curves"
        )

    chosen_label = st.selectbox(_("Inspect run"), labels, index=len(labels) - 1, key="train.inspect")
    chosen = next(run["result"] for run in runs if run["label"] == chosen_label)
    progress = chosen.progress
    a, b, c = st.columns(3)
    a.metric(_("Test accuracy"), f"{100 * chosen.test_acc:.2f}%")
    b.metric(_("Parameters"), f"{progress.parameters:,}")
    c.metric(_("Seconds"), f"{chosen.seconds:.1f}")
    if chosen.stopped_early:
        st.caption(
            _("Stopped early; the weights of epoch {epoch} (best validation loss) were kept.").format(
                epoch=chosen.best_epoch
            )
        )
    use, download = st.columns(2)
    if chosen.config.catalog_model is not None:
        if use.button(
            _("Use in the other pages"),
            key="train.use",
            icon=":material/input:",
            help=_(
                "Puts this run in the sidebar as “{entry}”, so the feature-map, receptive-field and saliency "
                "pages show it."
            ).format(entry=_(TRAINED_LABEL)),
        ):
            keep_for_other_pages(chosen_label, chosen)
            request_trained_model()
            st.rerun()
        current = trained_model()
        if current is not None and current.summary.startswith(f"{chosen_label}:"):
            use.caption(_("In the sidebar as “{entry}”.").format(entry=_(TRAINED_LABEL)))
    else:
        use.caption(
            _(
                "Only the paper's LeNet-5 (its own tanh, no normalisation) loads into the catalog's "
                "LeNet-5, so only such a run joins the other pages."
            )
        )
    download.download_button(
        _("Download the trained state_dict"),
        chosen.state_dict_bytes(),
        file_name=f"{chosen.config.model}-{chosen.config.dataset}.pt",
        key="train.download",
        help=_(
            "Loads with `python -m cvviz predict DIGIT.png --model lenet5 --weights FILE` (the paper's "
            "LeNet-5), or as the sidebar's state_dict upload for LeNet-5."
        ),
    )

    gradients, filters, histograms, confusion = st.tabs(
        [_("Gradients"), _("Filters"), _("Histograms"), _("Mistakes")]
    )
    with gradients:
        st.caption(_("The L2 norm of each layer's weight gradient at every step (log scale)."))
        st.plotly_chart(
            gradient_norms_figure(progress.gradient_norms, progress.layers), key="train.gradients"
        )
    with filters:
        history = chosen.filter_history
        epoch = 0
        if len(history) > 1:  # a run its time limit stopped before its first epoch ended has only one
            epoch = st.slider(
                _("After epoch (0 = initialisation)"),
                0,
                len(history) - 1,
                len(history) - 1,
                key="train.filter_epoch",
            )
        st.plotly_chart(filters_figure(history[epoch]), key="train.filters")
    with histograms:
        st.plotly_chart(histograms_figure(progress.weight_histograms, _("weights")), key="train.weight_hist")
        st.caption(_("Weights of each layer after the last epoch."))
        st.plotly_chart(
            histograms_figure(progress.activation_histograms, _("activations")), key="train.act_hist"
        )
        st.caption(
            _("Activations of each layer on {n} validation images.").format(
                n=min(PROBE_IMAGES, data.info.val_images)
            )
        )
    with confusion:
        mistakes(chosen)


def mistakes(chosen) -> None:
    """The confusion matrix; clicking a cell (or choosing its classes) shows its test images."""
    classes = chosen.progress.info.classes
    pickable = chosen.config.dataset == data_name
    pick_key = "train.confusion"
    clicked = picked_cell(st.session_state.get(pick_key)) if pickable else None
    if clicked is not None and clicked != st.session_state.get(f"{pick_key}.applied"):
        st.session_state[f"{pick_key}.applied"] = clicked
        st.session_state["train.true"], st.session_state["train.guess"] = clicked
    if pickable:
        st.caption(_("Click a cell to see its test images."))
        st.plotly_chart(
            confusion_figure(chosen.confusion, classes, pickable=True),
            key=pick_key,
            on_select="rerun",
            selection_mode="points",
        )
    else:
        st.plotly_chart(confusion_figure(chosen.confusion, classes), key="train.confusion_static")
        return
    left, right = st.columns(2)
    true = left.selectbox(
        _("True class"), range(len(classes)), format_func=classes.__getitem__, key="train.true"
    )
    guess = right.selectbox(
        _("Predicted as"), range(len(classes)), format_func=classes.__getitem__, key="train.guess"
    )
    examples = confusion_examples(chosen, data, true, guess)
    count = int(chosen.confusion[true, guess])
    if len(examples):
        st.caption(
            _("{shown} of the {count} test images of {true} read as {guess}.").format(
                shown=len(examples), count=count, true=classes[true], guess=classes[guess]
            )
        )
        st.image([image for image in examples], width=64, clamp=True)
    else:
        st.caption(_("No test image falls in that cell."))


draw_a_digit()
if runs:
    show_runs()
else:
    st.info(_("Choose the settings and press **Train**; the charts appear as the network learns."))

st.header(_("Experiments"))
vanishing, shifting, folds, searching = st.tabs(
    [_("Vanishing gradients"), _("Shift robustness"), _("Cross-validation"), _("Hyper-parameter search")]
)
with vanishing:
    st.caption(
        _(
            "A plain deep CNN and its residual twin at the same depth: every layer's gradient norm at "
            "initialisation and after some steps. Sigmoid's derivative is at most 0.25, so in the plain "
            "network the gradient shrinks with every layer it passes back through; the residual connections "
            "carry it."
        )
    )
    v1, v2, v3 = st.columns(3)
    v_depth = v1.slider(_("Depth"), 4, 40, 20, key="vg.depth")
    v_act = v2.selectbox(_("Activation"), ACTIVATIONS, key="vg.activation")
    v_steps = v3.slider(_("Steps"), 1, 100, 20, key="vg.steps")

    def depth_job():
        def work(reporter):
            profiles = []
            for index, name in enumerate(("plain", "residual")):
                message = (
                    _("Measuring the plain network")
                    if name == "plain"
                    else _("Measuring the residual network")
                )
                reporter.update(index / 2, message)  # stops here if cancelled
                cfg = plain.replace(model=name)
                profiles.append(gradient_depth_profile(cfg, steps=v_steps, dataset=data))
            return profiles

        return Job(_("Vanishing gradients"), work)

    plain = TrainingConfig(
        model="plain", depth=v_depth, activation=v_act, optimizer="sgd", schedule="constant"
    )
    profiles = long_run(
        "vg",
        _("Measure"),
        (v_depth, v_act, v_steps),
        depth_job,
        estimate_s=gradient_profile_seconds(timing_of(plain), v_steps),
    )
    if profiles:
        st.plotly_chart(depth_profile_figure(profiles), key="vg.figure")
with shifting:
    st.caption(
        _(
            "Accuracy on the test images moved by −8…+8 pixels, and turned by up to 60° either way. LeNet-5's "
            "shared convolution weights find a stroke wherever it is; an MLP has one weight per pixel and "
            "meets a shifted digit with weights it never trained. Neither was built to forgive a rotation. "
            "Train a LeNet-5 and an MLP above, then compare them here."
        )
    )
    picked = st.multiselect(
        _("Runs"), labels, default=labels[-2:], key="shift.runs", placeholder=_("Choose options")
    )
    picked_runs = [
        run for run in runs if run["label"] in picked and run["result"].config.dataset == data_name
    ]

    def shift_job():
        def work(reporter):
            share = 1 / len(picked_runs)
            return [
                shift_robustness(
                    run["result"], dataset=data, reporter=reporter.part(i * share, (i + 1) * share)
                )
                for i, run in enumerate(picked_runs)
            ]

        return Job(_("Shift robustness"), work)

    curves = long_run(
        "shift",
        _("Measure"),
        tuple(picked),
        shift_job,
        estimate_s=sum(robustness_seconds(run["result"], data, POSITIONS) for run in picked_runs) or None,
        disabled=not picked_runs,
    )
    if curves:
        st.plotly_chart(shift_figure(curves), key="shift.figure")
with folds:
    st.caption(
        _(
            "K-fold cross-validation of the settings above: the training and validation images pooled and "
            "split into K stratified folds; each fold is held out once. The test images are never used."
        )
    )
    k = st.slider(_("Folds"), 2, 10, 5, key="cv.folds")

    def cv_job():
        return Job(_("Cross-validation"), lambda reporter: cross_validate(config, k, reporter, dataset=data))

    cv = long_run(
        "cv",
        _("Cross-validate"),
        (config, k),
        cv_job,
        estimate_s=cross_validation_seconds(config, data, timing_of(config), k),
    )
    if cv:
        st.metric(
            _("{k}-fold validation accuracy").format(k=k),
            f"{100 * cv.mean_acc:.2f}% ± {100 * cv.std_acc:.2f}%",
        )
        st.dataframe(
            [
                {
                    _("fold"): f.fold,
                    _("held-out images"): f.held_out,
                    _("accuracy"): f"{100 * f.val_acc:.2f}%",
                }
                for f in cv.folds
            ],
            hide_index=True,
        )
with searching:
    st.caption(
        _(
            "Learning rate × weight decay searched three ways with the same number of runs: a grid, random "
            "points (log-uniform) and optuna's TPE, which chooses each run from the ones before. Each run is "
            "the settings above, scored by its best validation accuracy."
        )
    )
    budget = st.slider(_("Runs per method"), 2, 16, 6, key="search.budget")

    def search_job():
        def work(reporter):
            trials = []
            share = 1 / len(SEARCH_METHODS)
            for index, method in enumerate(SEARCH_METHODS):
                part = reporter.part(index * share, (index + 1) * share)
                trials.extend(search(config, method, budget, part, dataset=data))
            return trials

        return Job(_("Hyper-parameter search"), work)

    trials = long_run(
        "search",
        _("Search"),
        (config, budget),
        search_job,
        estimate_s=len(SEARCH_METHODS) * budget * run_seconds(config, data, timing_of(config)),
    )
    if trials:
        st.plotly_chart(search_figure(trials), key="search.figure")
