"""Generative lab: autoencoders, a VAE and a GAN trained live on the digits, and their latent spaces."""

import streamlit as st

from cvviz.errors import CvvizError
from cvviz.generative import MODELS, GenerativeConfig, generative_job
from cvviz.generative.config import DEFAULT_LR
from cvviz.generative.explore import (
    decode_point,
    decoded_grid,
    digit_labels,
    digit_pixels,
    interpolate_digits,
    interpolate_noise,
    latent_map,
    reconstructions,
    samples,
)
from cvviz.generative.loop import probe_indices
from cvviz.generative.models import GAN_LOSSES
from cvviz.i18n import N_, _
from cvviz.plotting.generative import (
    class_histogram_figure,
    digit_rows_figure,
    latent_grid_figure,
    latent_scatter_figure,
    losses_figure,
)
from cvviz.training.data import load_dataset
from cvviz.training.loop import SPLIT_SEED
from ui.jobs import live_run

RUNS = "gen.runs"
# Runs a session keeps (the oldest goes first).
MAX_RUNS = 8
DEFAULT = GenerativeConfig()
BETAS = (0.0, 0.1, 0.5, 1.0, 2.0, 4.0, 8.0)
SPARSITIES = (0.0, 1e-3, 1e-2, 0.1, 1.0)
LEARNING_RATES = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2)
LATENT_SIZES = (1, 2, 3, 4, 8, 16, 32, 64)
MODEL_NOTES = {
    "ae": N_("Try a bottleneck of 2, then 16: the reconstructions sharpen, and the map needs a projection."),
    "dae": N_("Raise the noise: it still rebuilds clean digits, because it learned what digits look like."),
    "sae": N_("Raise the sparsity weight and watch the code shrink towards zero (and the pictures blur)."),
    "vae": N_(
        "Train with β = 0 and β = 4 and compare the maps: the KL term packs the digits round the origin."
    ),
    "gan": N_(
        "A generator learning rate far above the discriminator's (say 0.02 against 0.0005) provokes a collapse: a few digits only, and the entropy falls."
    ),
}
WGAN_NOTE = N_(
    "WGAN-GP's critic scores digits instead of judging them, and its gradient penalty keeps it smooth; here it learns more slowly, since the generator steps once for several critic steps."
)


@st.cache_resource(show_spinner=_("Preparing the images…"))
def dataset():
    """The digits and their fixed split, shared by every session."""
    return load_dataset("digits", seed=SPLIT_SEED)


st.title(_("Generative lab"))
st.caption(
    _(
        "Autoencoders, a variational autoencoder and a GAN, trained live on handwritten digits on the CPU: "
        "watch them learn to rebuild and to invent digits, then explore the code space they learned."
    )
)
st.session_state.setdefault(RUNS, [])
data = dataset()

left, middle, right = st.columns(3)
model_name = left.selectbox(
    _("Model"), tuple(MODELS), format_func=lambda n: _(MODELS[n].title), key="gen.model", index=3
)
spec = MODELS[model_name]
left.caption(f"{_(spec.description)} ({spec.paper})")
latent = left.select_slider(
    _("Noise size") if spec.is_gan else _("Code size (bottleneck)"),
    LATENT_SIZES,
    value=spec.default_latent,
    key=f"gen.latent.{model_name}",
)
epochs = middle.slider(_("Epochs"), 1, 60, DEFAULT.epochs, key="gen.epochs")
default_lr = DEFAULT_LR[spec.is_gan]
lr = middle.select_slider(
    _("Discriminator learning rate") if spec.is_gan else _("Learning rate"),
    LEARNING_RATES,
    value=default_lr,
    key=f"gen.lr.{spec.is_gan}",
    format_func=lambda v: f"{v:g}",
)
beta, noise, sparsity, g_lr = DEFAULT.beta, DEFAULT.noise, DEFAULT.sparsity, None
gan_loss, critic_steps = DEFAULT.gan_loss, DEFAULT.critic_steps
if model_name == "vae":
    beta = right.select_slider(
        _("β (weight of the KL term)"),
        BETAS,
        value=DEFAULT.beta,
        key="gen.beta",
        format_func=lambda v: f"{v:g}",
    )
elif model_name == "dae":
    noise = right.slider(_("Noise level (σ)"), 0.0, 1.0, DEFAULT.noise, step=0.05, key="gen.noise")
elif model_name == "sae":
    sparsity = right.select_slider(
        _("Sparsity weight (L1 on the code)"),
        SPARSITIES,
        value=DEFAULT.sparsity,
        key="gen.sparsity",
        format_func=lambda v: f"{v:g}",
    )
elif spec.is_gan:
    gan_loss = middle.selectbox(
        _("Loss"), tuple(GAN_LOSSES), format_func=lambda n: _(GAN_LOSSES[n]), key="gen.gan_loss"
    )
    g_lr = right.select_slider(
        _("Generator learning rate"), LEARNING_RATES, value=lr, key="gen.g_lr", format_func=lambda v: f"{v:g}"
    )
    if gan_loss == "wgan-gp":
        critic_steps = right.slider(
            _("Critic steps per generator step"), 1, 10, DEFAULT.critic_steps, key="gen.critic_steps"
        )
seed = right.number_input(_("Seed"), 0, 10**6, DEFAULT.seed, key="gen.seed")
right.caption(_(WGAN_NOTE if spec.is_gan and gan_loss == "wgan-gp" else MODEL_NOTES[model_name]))

try:
    config = GenerativeConfig(
        model=model_name,
        latent=int(latent),
        epochs=int(epochs),
        lr=float(lr),
        g_lr=None if g_lr is None else float(g_lr),
        beta=float(beta),
        noise=float(noise),
        sparsity=float(sparsity),
        seed=int(seed),
        gan_loss=gan_loss,
        critic_steps=int(critic_steps),
    )
except CvvizError as exc:
    st.error(str(exc))
    st.stop()


def start_training():
    live = generative_job(config, dataset=data)
    st.session_state["gen.live_log"] = live.log
    return live.job


def snapshot_rows(progress, snapshot):
    """The rows of digits a snapshot is shown as: inputs, noisy inputs, reconstructions; or samples."""
    if progress.inputs is None:
        return [(_("samples"), snapshot[:8]), ("", snapshot[8:16])]
    rows = [(_("input"), progress.inputs)]
    if progress.noisy is not None:
        rows.append((_("noisy input"), progress.noisy))
    rows.append((_("reconstruction"), snapshot))
    return rows


def draw_live() -> None:
    """The running job's charts, built once an epoch (the polls between send the same figures)."""
    log = st.session_state.get("gen.live_log")
    progress = log.snapshot() if log is not None else None
    if progress is None:
        return
    cached = st.session_state.get("gen.live_figures")
    if cached is None or cached[0] is not log or cached[1] != len(progress.epochs):
        figures = []
        if progress.epochs:
            figures.append(losses_figure([(_("this run"), progress.config.model, progress.epochs)]))
        figures.append(digit_rows_figure(snapshot_rows(progress, progress.snapshots[-1])))
        last = progress.epochs[-1] if progress.epochs else None
        if last is not None and last.histogram is not None:
            figures.append(class_histogram_figure(last.histogram, last.entropy, progress.info.classes))
        cached = (log, len(progress.epochs), figures)
        st.session_state["gen.live_figures"] = cached
    for index, figure in enumerate(cached[2]):
        st.plotly_chart(figure, key=f"gen.live.{index}")


finished = live_run("gen", _("Train"), start_training, draw_live)
if finished is not None:
    status = finished.status()
    if status.state == "done":
        number = st.session_state.get("gen.count", 0) + 1
        st.session_state["gen.count"] = number
        st.session_state[RUNS].append({"label": _("run {n}").format(n=number), "result": finished.result})
        del st.session_state[RUNS][:-MAX_RUNS]
    elif status.state == "failed":
        st.error(status.error)
    else:
        st.info(_("Training was stopped; nothing was kept."))

runs = st.session_state[RUNS]
labels = [run["label"] for run in runs]


def show_autoencoder(label: str, chosen) -> None:
    """An autoencoder's reconstructions, latent plane, interpolation, samples (VAE) and the comparison."""
    progress = chosen.progress
    classes = progress.info.classes
    tabs = st.tabs(
        [_("Reconstructions"), _("Latent space"), _("Interpolation"), _("New digits"), _("Compare")]
    )
    with tabs[0]:
        epoch = st.slider(
            _("After epoch (0 = before training)"), 0, len(progress.epochs), len(progress.epochs),
            key="gen.recon_epoch",
        )  # fmt: skip
        st.plotly_chart(
            digit_rows_figure(snapshot_rows(progress, progress.snapshots[epoch])), key="gen.recon"
        )
        st.caption(_("One test digit of each class, rebuilt by the model after the chosen epoch."))
    with tabs[1]:
        plane = latent_map(chosen, data)
        if plane.projected:
            st.caption(
                _(
                    "The code has {n} numbers: the digits are drawn on its two principal directions, and the "
                    "grid decodes points of that plane."
                ).format(n=plane.codes.shape[1])
            )
        map_column, grid_column = st.columns(2)
        with map_column:
            st.markdown(_("**The test digits, encoded** (click one to decode its point)"))
            event = st.plotly_chart(
                latent_scatter_figure(plane, classes),
                key="gen.scatter",
                on_select="rerun",
                selection_mode="points",
            )
        with grid_column:
            st.markdown(_("**The decoder over the dotted rectangle**"))
            steps = st.slider(_("Grid size"), 5, 20, 12, key="gen.grid")
            st.plotly_chart(latent_grid_figure(decoded_grid(chosen, plane, steps)), key="gen.grid_figure")
        points = (event or {}).get("selection", {}).get("points", []) if event else []
        if points:
            x, y = float(points[0]["x"]), float(points[0]["y"])
            custom = points[0].get("customdata", 0)
            index = int(custom[0] if isinstance(custom, list) else custom)
            st.image(
                [digit_pixels(data, [index])[0], decode_point(chosen, plane, x, y)],
                caption=[
                    _("test image {index}").format(index=index),
                    _("decoded at ({x:.2f}, {y:.2f})").format(x=x, y=y),
                ],
                width=96,
                clamp=True,
            )
        others = [
            run["label"] for run in runs if run["label"] != label and run["result"].config.model != "gan"
        ]
        if others:
            other_label = st.selectbox(
                _("Beside another run's map (say a VAE with another β)"),
                [_("none"), *others],
                key="gen.other_map",
            )
            if other_label in others:
                other = next(run["result"] for run in runs if run["label"] == other_label)
                left_map, right_map = st.columns(2)
                left_map.markdown(f"**{label}**: {chosen.config.describe()}")
                left_map.plotly_chart(latent_scatter_figure(plane, classes), key="gen.scatter_this")
                right_map.markdown(f"**{other_label}**: {other.config.describe()}")
                right_map.plotly_chart(
                    latent_scatter_figure(latent_map(other, data), classes), key="gen.scatter_other"
                )
    with tabs[2]:
        a, b, c = st.columns(3)
        last = progress.info.test_images - 1
        ends = probe_indices(data.test)  # the first test image of each digit: a 0 and a 7 to begin with
        first = a.number_input(_("From test image"), 0, last, int(ends[0]), key="gen.from")
        second = b.number_input(_("To test image"), 0, last, int(ends[7]), key="gen.to")
        steps = c.slider(_("Steps"), 3, 16, 8, key="gen.steps")
        path = interpolate_digits(chosen, data, int(first), int(second), int(steps))
        st.plotly_chart(digit_rows_figure([(_("linear path"), path)]), key="gen.path")
        st.caption(
            _(
                "Test images {first} (a {a}) and {second} (a {b}): their codes joined by a straight line, each "
                "point decoded."
            ).format(
                first=int(first),
                a=classes[digit_labels(data)[int(first)]],
                second=int(second),
                b=classes[digit_labels(data)[int(second)]],
            )
        )
    with tabs[3]:
        if chosen.config.model == "vae":
            st.plotly_chart(
                digit_rows_figure(
                    [("", row) for row in samples(chosen, 32, int(seed)).reshape(4, 8, 32, 32)]
                ),
                key="gen.samples",
            )
            st.caption(_("Codes drawn from the prior N(0, I) and decoded: new digits, none of them seen."))
        else:
            st.info(
                _(
                    "A plain autoencoder gives no way to draw new codes: nothing says where in the code space "
                    "digits live. A VAE's prior does; train one."
                )
            )
    with tabs[4]:
        compare(chosen)


def compare(chosen) -> None:
    """The same test digits through the latest run of each kind of autoencoder, clean and noisy."""
    latest = {}
    for run in runs:
        if run["result"].config.model != "gan":
            latest[run["result"].config.model] = run
    a, b = st.columns(2)
    indices = list(range(int(a.number_input(_("First test digit"), 0, 350, 0, key="gen.cmp_first")), 360))[:8]
    level = b.slider(_("Noise added"), 0.0, 1.0, 0.5, step=0.05, key="gen.cmp_noise")
    rows = []
    errors = []
    for kind, run in latest.items():
        shown = reconstructions(run["result"], data, indices, noise=level, seed=1)
        if not rows:
            rows += [(_("input"), shown.inputs), (_("noisy input"), shown.seen)]
        rows.append((f"{kind} ({run['label']})", shown.outputs))
        errors.append(
            {"model": _(MODELS[kind].title), "run": run["label"], "MSE per pixel": float(shown.errors.mean())}
        )
    st.plotly_chart(digit_rows_figure(rows), key="gen.compare")
    st.dataframe(errors, hide_index=True)
    st.caption(
        _(
            "The latest run of each kind of autoencoder this session; train an AE, a denoising AE and a VAE to compare them."
        )
    )


def show_gan(chosen) -> None:
    """A GAN's samples over training, class histogram and noise interpolation."""
    progress = chosen.progress
    tabs = st.tabs([_("Samples over training"), _("Mode collapse"), _("Interpolation"), _("New digits")])
    with tabs[0]:
        count = len(progress.snapshots)
        shown = sorted({round(i * (count - 1) / 5) for i in range(6)})
        st.plotly_chart(
            digit_rows_figure([(_("epoch {n}").format(n=i), progress.snapshots[i][:12]) for i in shown]),
            key="gen.over_time",
        )
        st.caption(_("The same noise through the generator before training and after chosen epochs."))
    with tabs[1]:
        epoch = st.slider(
            _("After epoch"), 1, len(progress.epochs), len(progress.epochs), key="gen.hist_epoch"
        )
        metrics = progress.epochs[epoch - 1]
        st.plotly_chart(
            class_histogram_figure(metrics.histogram, metrics.entropy, progress.info.classes), key="gen.hist"
        )
        st.caption(
            _(
                "500 generated digits read by a LeNet-5 trained in the training lab. A generator that covers "
                "every digit gives ten even bars and an entropy near ln 10 ≈ 2.30; one that collapses onto a "
                "few digits gives a few tall bars and an entropy near 0."
            )
        )
    with tabs[2]:
        a, b, c = st.columns(3)
        first = a.number_input(_("From noise seed"), 0, 10**6, 0, key="gen.noise_from")
        second = b.number_input(_("To noise seed"), 0, 10**6, 7, key="gen.noise_to")
        steps = c.slider(_("Steps"), 3, 16, 8, key="gen.noise_steps")
        rows = [
            (_("spherical"), interpolate_noise(chosen, int(first), int(second), int(steps), spherical=True)),
            (_("linear"), interpolate_noise(chosen, int(first), int(second), int(steps), spherical=False)),
        ]
        st.plotly_chart(digit_rows_figure(rows), key="gen.noise_path")
        st.caption(
            _(
                "Gaussian noise in many dimensions lies near a sphere; the straight path between two points dips "
                "inside it, where the generator never trained, and the spherical path stays on it."
            )
        )
    with tabs[3]:
        grid = samples(chosen, 32, int(seed)).reshape(4, 8, 32, 32)
        st.plotly_chart(digit_rows_figure([("", row) for row in grid]), key="gen.gan_samples")


def outcome(result) -> str:
    """A run's verdict in a few words: its reconstruction error, or its samples' class entropy."""
    if result.test_mse is not None:
        return _("test error {mse:.4f} per pixel").format(mse=result.test_mse)
    return _("entropy {value:.2f} nats").format(value=result.epochs[-1].entropy)


def show_runs() -> None:
    st.header(_("Runs this session"))
    st.dataframe(
        [
            {
                _("run"): run["label"],
                _("model"): _(MODELS[run["result"].config.model].title),
                _("result"): outcome(run["result"]),
                _("seconds"): round(run["result"].seconds, 1),
                _("settings"): run["result"].config.describe(),
            }
            for run in runs
        ],
        hide_index=True,
    )
    chosen_label = st.selectbox(_("Inspect run"), labels, index=len(labels) - 1, key="gen.inspect")
    chosen = next(run["result"] for run in runs if run["label"] == chosen_label)
    same_kind = [
        (run["label"], run["result"].config.model, run["result"].epochs)
        for run in runs
        if (run["result"].config.model == "gan") == (chosen.config.model == "gan")
        and (run["result"].config.model == "vae") == (chosen.config.model == "vae")
    ]
    st.plotly_chart(losses_figure(same_kind[-4:]), key="gen.losses")
    st.download_button(
        _("Download the trained model"),
        chosen.checkpoint_bytes(),
        file_name=f"{chosen.config.model}-digits.pt",
        key="gen.download",
        help=_("Makes digits with `python -m cvviz generate --model FILE --n 16 --out grid.png`."),
    )
    if chosen.config.model == "gan":
        show_gan(chosen)
    else:
        show_autoencoder(chosen_label, chosen)


if runs:
    show_runs()
else:
    st.info(_("Choose a model and press **Train**; its losses and pictures appear as it learns."))
