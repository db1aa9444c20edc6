"""Training lab: train a small network on handwritten digits, live on the CPU, and watch it learn."""

import streamlit as st

from cvviz.errors import CvvizError
from cvviz.jobs import Job
from cvviz.models.architectures.options import ACTIVATIONS, NORMS
from cvviz.plotting.training import (
    confusion_figure,
    curves_figure,
    depth_profile_figure,
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
from cvviz.training.experiments import gradient_depth_profile, shift_robustness
from cvviz.training.loop import PROBE_IMAGES, SPLIT_SEED, confusion_examples, read_digit
from cvviz.training.search import METHODS as SEARCH_METHODS
from cvviz.training.search import search
from ui.jobs import live_run, long_run
from ui.resources import decode_image

RUNS = "train.runs"
# Runs a session keeps (the oldest goes first): each holds its weights and its filters' history. (A bare
# string here would be drawn on the page by Streamlit's magic.)
MAX_RUNS = 12
DEFAULT = TrainingConfig()
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2, 3e-2, 0.05, 0.1, 0.3, 1.0, 10.0, 1000.0)
DATASET_TITLES = {
    "digits": "Digits (bundled, 1,797 images)",
    "mnist": "MNIST",
    "fashion_mnist": "Fashion-MNIST",
}
OPTIMIZER_TITLES = {
    "sgd": "SGD", "momentum": "SGD + momentum", "nesterov": "SGD + Nesterov momentum", "adagrad": "AdaGrad",
    "rmsprop": "RMSProp", "adam": "Adam", "adamw": "AdamW",
}  # fmt: skip
INIT_TITLES = {
    "default": "PyTorch default", "xavier": "Xavier/Glorot", "he": "He/Kaiming", "zeros": "zeros",
    "large": "too large: N(0, 1)",
}  # fmt: skip


@st.cache_resource(show_spinner="Preparing the images…")
def dataset(name: str):
    """The data set and its fixed split, shared by every session."""
    return load_dataset(name, seed=SPLIT_SEED)


st.title("Training lab")
st.caption(
    "Train a small network on handwritten digits on the CPU, in seconds, and watch it learn: the loss, "
    "every layer's gradients, the first layer's filters and the mistakes it still makes."
)
st.session_state.setdefault(RUNS, [])

left, middle, right = st.columns(3)
data_name = left.selectbox("Data set", DATASETS, format_func=DATASET_TITLES.get, key="train.dataset")
try:
    data = dataset(data_name)
except CvvizError as exc:
    st.error(str(exc))
    st.stop()
st.info(f"{data.info.summary} {data.info.preprocessing}", icon=":material/dataset:")

model_name = left.selectbox(
    "Network", tuple(MODELS), format_func=lambda n: MODELS[n].title, key="train.model"
)
left.caption(MODELS[model_name].description)
depth = DEFAULT.depth
if MODELS[model_name].takes_depth:
    depth = left.slider("Depth (blocks)", 2, 40, DEFAULT.depth, key="train.depth")
activation = left.selectbox(
    "Activation",
    ("model's own", *ACTIVATIONS),
    key="train.activation",
    help=f"{MODELS[model_name].title} uses {MODELS[model_name].default_activation} by default.",
)
norm = left.selectbox("Normalisation", NORMS, key="train.norm")
init = left.selectbox("Initialisation", INITS, format_func=INIT_TITLES.get, key="train.init")

optimizer = middle.selectbox(
    "Optimiser", OPTIMIZERS, index=OPTIMIZERS.index(DEFAULT.optimizer), format_func=OPTIMIZER_TITLES.get,
    key="train.optimizer",
)  # fmt: skip
lr = middle.select_slider(
    "Learning rate (peak)", LEARNING_RATES, value=DEFAULT.lr, key="train.lr", format_func=lambda v: f"{v:g}"
)
schedule = middle.selectbox(
    "Schedule", SCHEDULES, index=SCHEDULES.index(DEFAULT.schedule), key="train.schedule"
)
batch_size = middle.select_slider(
    "Batch size", (8, 16, 32, 64, 128, 256), value=DEFAULT.batch_size, key="train.batch"
)
epochs = middle.slider("Epochs", 1, 60, DEFAULT.epochs, key="train.epochs")

dropout = right.slider("Dropout", 0.0, 0.8, DEFAULT.dropout, step=0.05, key="train.dropout")
weight_decay = right.select_slider(
    "Weight decay", (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1), value=DEFAULT.weight_decay, key="train.decay",
    format_func=lambda v: f"{v:g}",
)  # fmt: skip
augment = right.toggle("Augment (random shift, rotation, scale)", key="train.augment")
patience = right.number_input(
    "Early-stopping patience (0 = off)", 0, 50, 0, key="train.patience",
    help="Stop after this many epochs without a better validation loss, and keep the best epoch's weights.",
)  # fmt: skip
seed = right.number_input("Seed", 0, 10**6, DEFAULT.seed, key="train.seed")

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
        activation=None if activation == "model's own" else activation,
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


def start_training():
    live = training_job(config, dataset=data)
    st.session_state["train.live_log"] = live.log
    return live.job


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
            figures.append(curves_figure([*previous, ("this run", progress.epochs)]))
        if progress.steps:
            figures.append(gradient_norms_figure(progress.gradient_norms, progress.layers))
        if progress.filters is not None:
            figures.append(filters_figure(progress.filters))
        cached = (log, len(progress.epochs), figures)
        st.session_state["train.live_figures"] = cached
    for index, figure in enumerate(cached[2]):
        st.plotly_chart(figure, key=f"train.live.{index}")


finished = live_run("train", "Train", start_training, draw_live)
if finished is not None:
    status = finished.status()
    if status.state == "done":
        result = finished.result
        number = st.session_state.get("train.count", 0) + 1
        st.session_state["train.count"] = number
        st.session_state[RUNS].append({"label": f"run {number}", "result": result})
        del st.session_state[RUNS][:-MAX_RUNS]
    elif status.state == "failed":
        st.error(status.error)
    else:
        st.info("Training was stopped; nothing was kept.")

runs = st.session_state[RUNS]
labels = [run["label"] for run in runs]


def show_runs() -> None:
    """The session's runs compared, and one of them inspected."""
    st.header("Runs this session")
    st.dataframe(
        [
            {
                "run": run["label"],
                "test accuracy": f"{100 * run['result'].test_acc:.2f}%",
                "best epoch": run["result"].best_epoch,
                "seconds": round(run["result"].seconds, 1),
                "settings": run["result"].config.describe(),
            }
            for run in runs
        ],
        hide_index=True,
    )
    compared = st.multiselect("Overlay", labels, default=labels[-4:], key="train.compare")
    shown = [run for run in runs if run["label"] in compared]
    if shown:
        st.plotly_chart(
            curves_figure([(run["label"], run["result"].epochs) for run in shown]), key="train.curves"
        )

    chosen_label = st.selectbox("Inspect run", labels, index=len(labels) - 1, key="train.inspect")
    chosen = next(run["result"] for run in runs if run["label"] == chosen_label)
    progress = chosen.progress
    a, b, c = st.columns(3)
    a.metric("Test accuracy", f"{100 * chosen.test_acc:.2f}%")
    b.metric("Parameters", f"{progress.parameters:,}")
    c.metric("Seconds", f"{chosen.seconds:.1f}")
    if chosen.stopped_early:
        st.caption(
            f"Stopped early; the weights of epoch {chosen.best_epoch} (best validation loss) were kept."
        )
    st.download_button(
        "Download the trained state_dict",
        chosen.state_dict_bytes(),
        file_name=f"{chosen.config.model}-{chosen.config.dataset}.pt",
        key="train.download",
        help="Loads with `python -m cvviz predict DIGIT.png --model lenet5 --weights FILE` (the paper's LeNet-5).",
    )

    gradients, filters, histograms, confusion, reading = st.tabs(
        ["Gradients", "Filters", "Histograms", "Mistakes", "Read a digit"]
    )
    with gradients:
        st.caption("The L2 norm of each layer's weight gradient at every step (log scale).")
        st.plotly_chart(
            gradient_norms_figure(progress.gradient_norms, progress.layers), key="train.gradients"
        )
    with filters:
        history = chosen.filter_history
        epoch = st.slider(
            "After epoch (0 = initialisation)",
            0,
            len(history) - 1,
            len(history) - 1,
            key="train.filter_epoch",
        )
        st.plotly_chart(filters_figure(history[epoch]), key="train.filters")
    with histograms:
        st.plotly_chart(histograms_figure(progress.weight_histograms, "weights"), key="train.weight_hist")
        st.caption("Weights of each layer after the last epoch.")
        st.plotly_chart(
            histograms_figure(progress.activation_histograms, "activations"), key="train.act_hist"
        )
        st.caption(
            f"Activations of each layer on {min(PROBE_IMAGES, data.info.val_images)} validation images."
        )
    with confusion:
        classes = progress.info.classes
        st.plotly_chart(confusion_figure(chosen.confusion, classes), key="train.confusion")
        if chosen.config.dataset == data_name:
            left, right = st.columns(2)
            true = left.selectbox(
                "True class", range(len(classes)), format_func=classes.__getitem__, key="train.true"
            )
            guess = right.selectbox(
                "Predicted as", range(len(classes)), format_func=classes.__getitem__, key="train.guess"
            )
            examples = confusion_examples(chosen, data, true, guess)
            if len(examples):
                st.image([image for image in examples], width=64, clamp=True)
            else:
                st.caption("No test image falls in that cell.")
    with reading:
        read_a_digit(chosen)


def read_a_digit(chosen) -> None:
    """A photo of one handwritten digit, prepared as the training digits were, and the run's reading."""
    st.caption(
        "Upload a photo or scan of one digit (dark ink on light paper works): it is cropped to the ink, "
        "fitted in 20×20, centred by its centre of mass in 28×28 and padded to 32×32, as the training "
        "digits were."
    )
    upload = st.file_uploader("A digit", type=["png", "jpg", "jpeg", "webp", "bmp"], key="train.digit")
    if upload is None:
        return
    try:
        reading = read_digit(chosen, decode_image(upload.getvalue()).image)
    except CvvizError as exc:
        st.error(str(exc))
        return
    steps = reading.steps
    st.image(
        [steps.ink, steps.cropped, steps.fitted, steps.centred, steps.padded],
        caption=[
            "ink on black",
            "cropped to the ink",
            "fitted in 20×20",
            "centred in 28×28",
            "padded to 32×32",
        ],
        width=96,
        clamp=True,
    )
    classes = chosen.progress.info.classes
    st.markdown(f"Read as **{classes[reading.best]}** ({100 * reading.probabilities[reading.best]:.1f}%).")
    st.plotly_chart(probabilities_figure(reading.probabilities, classes), key="train.reading")


if runs:
    show_runs()
else:
    st.info("Choose the settings and press **Train**; the charts appear as the network learns.")

st.header("Experiments")
vanishing, shifting, folds, searching = st.tabs(
    ["Vanishing gradients", "Shift robustness", "Cross-validation", "Hyper-parameter search"]
)
with vanishing:
    st.caption(
        "A plain deep CNN and its residual twin at the same depth: every layer's gradient norm at "
        "initialisation and after some steps. Sigmoid's derivative is at most 0.25, so in the plain network "
        "the gradient shrinks with every layer it passes back through; the residual connections carry it."
    )
    v1, v2, v3 = st.columns(3)
    v_depth = v1.slider("Depth", 4, 40, 20, key="vg.depth")
    v_act = v2.selectbox("Activation", ACTIVATIONS, key="vg.activation")
    v_steps = v3.slider("Steps", 1, 100, 20, key="vg.steps")

    def depth_job():
        def work(reporter):
            profiles = []
            for index, name in enumerate(("plain", "residual")):
                reporter.update(index / 2, f"Measuring the {name} network")  # stops here if cancelled
                cfg = TrainingConfig(
                    model=name, depth=v_depth, activation=v_act, optimizer="sgd", lr=0.05, schedule="constant"
                )
                profiles.append(gradient_depth_profile(cfg, steps=v_steps, dataset=data))
            return profiles

        return Job("Vanishing gradients", work)

    profiles = long_run("vg", "Measure", (v_depth, v_act, v_steps), depth_job, estimate_s=5)
    if profiles:
        st.plotly_chart(depth_profile_figure(profiles), key="vg.figure")
with shifting:
    st.caption(
        "Accuracy on the test images moved by −8…+8 pixels. LeNet-5's shared convolution weights find a "
        "stroke wherever it is; an MLP has one weight per pixel and meets a shifted digit with weights it "
        "never trained. Train a LeNet-5 and an MLP above, then compare them here."
    )
    picked = st.multiselect("Runs", labels, default=labels[-2:], key="shift.runs")
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

        return Job("Shift robustness", work)

    curves = long_run("shift", "Measure", tuple(picked), shift_job, estimate_s=3, disabled=not picked_runs)
    if curves:
        st.plotly_chart(shift_figure(curves), key="shift.figure")
with folds:
    st.caption(
        "K-fold cross-validation of the settings above: the training and validation images pooled and split "
        "into K stratified folds; each fold is held out once. The test images are never used."
    )
    k = st.slider("Folds", 2, 10, 5, key="cv.folds")

    def cv_job():
        return Job("Cross-validation", lambda reporter: cross_validate(config, k, reporter, dataset=data))

    cv = long_run("cv", "Cross-validate", (config, k), cv_job, estimate_s=k * 8)
    if cv:
        st.metric(f"{k}-fold validation accuracy", f"{100 * cv.mean_acc:.2f}% ± {100 * cv.std_acc:.2f}%")
        st.dataframe(
            [
                {"fold": f.fold, "held-out images": f.held_out, "accuracy": f"{100 * f.val_acc:.2f}%"}
                for f in cv.folds
            ],
            hide_index=True,
        )
with searching:
    st.caption(
        "Learning rate × weight decay searched three ways with the same number of runs: a grid, random "
        "points (log-uniform) and optuna's TPE, which chooses each run from the ones before. Each run is the "
        "settings above, scored by its best validation accuracy."
    )
    budget = st.slider("Runs per method", 2, 16, 6, key="search.budget")

    def search_job():
        def work(reporter):
            trials = []
            share = 1 / len(SEARCH_METHODS)
            for index, method in enumerate(SEARCH_METHODS):
                part = reporter.part(index * share, (index + 1) * share)
                trials.extend(search(config, method, budget, part, dataset=data))
            return trials

        return Job("Hyper-parameter search", work)

    trials = long_run("search", "Search", (config, budget), search_job, estimate_s=3 * budget * 6)
    if trials:
        st.plotly_chart(search_figure(trials), key="search.figure")
