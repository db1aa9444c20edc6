"""The generative lab's training loops (autoencoders and the GAN), as jobs the app and the CLI both drive.

Reproducible like the training lab's loop: the weights are initialised from torch's generator seeded with
``config.seed`` (restored afterwards), and batches, input noise, codes and the GAN's noise come from
private generators seeded from it, so the same config gives the same losses on the CPU.

The GAN's mode-collapse meter is a digit classifier trained with the training lab
(:func:`digit_judge`): after every epoch it reads a fixed batch of generated digits, and the share of
each class and the entropy of those shares are recorded. A generator that collapses onto a few digits
shows as a histogram with a few tall bars and an entropy falling towards 0.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from cvviz.errors import CvvizError
from cvviz.generative.config import GenerativeConfig, GenerativeConfigError
from cvviz.generative.maths import (
    class_histogram,
    entropy,
    gaussian_kl,
    gradient_penalty,
    reparameterise,
)
from cvviz.generative.models import GAN, MODELS, VAE, build_model
from cvviz.generative.results import (
    GenerativeEpoch,
    GenerativeLog,
    GenerativeProgress,
    GenerativeResult,
    SavedModel,
)
from cvviz.i18n import _
from cvviz.jobs import Job, Reporter
from cvviz.models.weights import read_lab_file
from cvviz.training.config import TrainingConfig
from cvviz.training.data import MEAN, STD, Dataset, Split, load_dataset
from cvviz.training.loop import SPLIT_SEED, batches_of, network_from_result, one_thread
from cvviz.training.loop import train as train_classifier

JUDGE_CONFIG = TrainingConfig(model="lenet5_modern", epochs=6, schedule="onecycle", dropout=0.1)
"""The digit classifier that judges the GAN's samples: the modern LeNet-5 of the training lab, trained on
the digits' training split for a few seconds (about 96% test accuracy)."""
JUDGED_SAMPLES = 500
"""Generated digits the classifier reads after every epoch (a fixed batch of noise)."""
SNAPSHOT_SAMPLES = 16
"""Generated digits kept after every epoch to show the GAN's samples over training."""
GAN_BETAS = (0.5, 0.999)
"""Adam's momentum terms for the GAN, as DCGAN's paper sets them."""
WGAN_BETAS = (0.0, 0.9)
"""Adam's momentum terms for WGAN-GP, as its paper sets them (no momentum on the first moment)."""
DIVERGENCE_LIMIT = 1e6


class GenerativeDiverged(CvvizError):
    """A loss became non-finite or absurdly large: the learning rate is too large for this network."""


class CheckpointError(CvvizError, ValueError):
    """A file that is not a generative model saved by cvviz (or does not fit the model it names)."""


def to_pixels(images: torch.Tensor) -> torch.Tensor:
    """The training lab's normalised images (mean 0.5, std 0.5) → pixels in [0, 1]."""
    return (images * STD + MEAN).clamp(0, 1)


def from_pixels(pixels: torch.Tensor) -> torch.Tensor:
    """Pixels in [0, 1] → the normalised scale the digit classifier and the GAN use."""
    return (pixels - MEAN) / STD


def probe_indices(split: Split, classes: int = 10) -> np.ndarray:
    """The first image of each class in ``split`` (K ≤ classes,): the digits every snapshot rebuilds."""
    labels = split.labels.numpy()
    return np.array([int(np.flatnonzero(labels == c)[0]) for c in range(classes) if (labels == c).any()])


def add_noise(pixels: torch.Tensor, level: float, generator: torch.Generator) -> torch.Tensor:
    """``pixels`` in [0, 1] with Gaussian noise of standard deviation ``level`` added, clipped to [0, 1]."""
    noise = torch.randn(pixels.shape, generator=generator) * level
    return (pixels + noise).clamp(0, 1)


_judge_lock = threading.Lock()


def digit_judge(config: TrainingConfig = JUDGE_CONFIG) -> nn.Module:
    """The classifier that judges generated digits (trained once per process and settings, then shared;
    use it read-only, through :func:`judge_predictions`): normalised (N, 1, 32, 32) images → (N, 10)
    logits, in eval mode. Two runs asking at once wait for one training."""
    with _judge_lock:
        return _trained_judge(config)


@functools.lru_cache(maxsize=2)
def _trained_judge(config: TrainingConfig) -> nn.Module:
    result = train_classifier(config, dataset=load_dataset(config.dataset, seed=SPLIT_SEED))
    model = network_from_result(result)
    model.requires_grad_(False)
    return model


@torch.inference_mode()
def judge_predictions(judge: nn.Module, images: torch.Tensor) -> np.ndarray:
    """The classifier's predicted class (N,) of each normalised image (N, 1, 32, 32)."""
    with _judge_lock:  # shared between runs: one reads it at a time
        return judge(images).argmax(dim=1).numpy()


class _Silent(Reporter):
    def __init__(self) -> None:
        super().__init__(threading.Event())


def _check(value: float, step: int) -> None:
    if not math.isfinite(value) or abs(value) > DIVERGENCE_LIMIT:
        raise GenerativeDiverged(
            _("training diverged at step {step}: try a smaller learning rate.").format(step=step)
        )


def _order(count: int, seed: int, epoch: int) -> torch.Tensor:
    return torch.randperm(count, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


def _autoencoder_losses(
    model: nn.Module,
    config: GenerativeConfig,
    pixels: torch.Tensor,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Total loss, reconstruction loss (per image), KL (VAE) and code L1 norm (sparse AE) of one batch."""
    seen = add_noise(pixels, config.noise, generator) if config.model == "dae" else pixels
    kl = sparsity = None
    if isinstance(model, VAE):
        mean, log_var = model.encode_distribution(seen)
        output = model.decode(reparameterise(mean, log_var, generator))
        kl = gaussian_kl(mean, log_var).mean()
    else:
        code = model.encode(seen)
        output = model.decode(code)
        if config.model == "sae":
            sparsity = code.abs().sum(dim=1).mean()
    recon = F.binary_cross_entropy(output, pixels, reduction="sum") / len(pixels)
    loss = recon
    if kl is not None:
        loss = loss + config.beta * kl
    if sparsity is not None:
        loss = loss + config.sparsity * sparsity
    return loss, recon, kl, sparsity


@torch.inference_mode()
def reconstruct(model: nn.Module, pixels: torch.Tensor) -> torch.Tensor:
    """An autoencoder's reconstruction (N, 1, 32, 32) of ``pixels``, from the mean code, in eval mode."""
    was_training = model.training
    model.eval()
    try:
        return model(pixels)
    finally:
        model.train(was_training)


@torch.inference_mode()
def generate(model: GAN, noise: torch.Tensor) -> torch.Tensor:
    """The generator's images (N, 1, 32, 32) in [-1, 1] for ``noise`` (N, latent), in eval mode."""
    was_training = model.training
    model.eval()
    try:
        return model.generator(noise)
    finally:
        model.train(was_training)


def _validate(
    model: nn.Module, config: GenerativeConfig, pixels: torch.Tensor, seed: int
) -> tuple[float, float]:
    """Validation reconstruction loss (per image) and MSE per pixel; the denoising AE reads noisy inputs
    (the same noise every epoch)."""
    seen = pixels
    if config.model == "dae":
        seen = add_noise(pixels, config.noise, torch.Generator().manual_seed(seed + 31))
    output = reconstruct(model, seen)
    recon = float(F.binary_cross_entropy(output, pixels, reduction="sum")) / max(len(pixels), 1)
    return recon, float(F.mse_loss(output, pixels))


def train(
    config: GenerativeConfig,
    reporter: Reporter | None = None,
    *,
    dataset: Dataset | None = None,
    log: GenerativeLog | None = None,
    on_epoch: Callable[[GenerativeEpoch], None] | None = None,
    judge: nn.Module | None = None,
) -> GenerativeResult:
    """Train ``config``'s model on the digits and return the result.

    ``reporter`` receives progress after every step (and stops the run when its job is cancelled);
    ``log`` is filled as the run goes, for a live view; ``on_epoch`` is called with each epoch's losses.
    The GAN's samples are judged by ``judge`` (default: :func:`digit_judge`). Raises
    :class:`GenerativeDiverged` when a loss stops being finite.
    """
    reporter = reporter or _Silent()
    log = log or GenerativeLog()
    started = time.perf_counter()
    reporter.update(0.0, _("Loading the data…"))
    dataset = dataset or load_dataset("digits", seed=SPLIT_SEED)
    train_split = dataset.train
    if config.train_images is not None:
        train_split = train_split.subset(np.arange(min(config.train_images, len(train_split))))
    is_gan = MODELS[config.model].is_gan
    if is_gan and judge is None:
        reporter.update(0.0, _("Training the digit classifier that judges the samples…"))
        judge = digit_judge()
    batches = batches_of(len(train_split), config.batch)
    total_steps = len(batches) * config.epochs
    probe = probe_indices(dataset.test)
    probe_pixels = to_pixels(dataset.test.images[torch.as_tensor(probe)])

    with one_thread(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = build_model(config.model, config.code_size, config.gan_loss)
        randomness = torch.Generator().manual_seed(config.seed + 7_919)
        fixed_noise = torch.randn(
            JUDGED_SAMPLES, config.code_size, generator=torch.Generator().manual_seed(config.seed + 17)
        )
        if is_gan:
            assert isinstance(model, GAN)
            betas = WGAN_BETAS if config.wasserstein else GAN_BETAS
            g_opt = torch.optim.Adam(model.generator.parameters(), lr=config.generator_lr, betas=betas)
            d_opt = torch.optim.Adam(model.discriminator.parameters(), lr=config.learning_rate, betas=betas)
            snapshot = to_pixels(generate(model, fixed_noise[:SNAPSHOT_SAMPLES]))[:, 0].numpy()
            noisy = None
        else:
            optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
            shown = probe_pixels
            if config.model == "dae":
                shown = add_noise(probe_pixels, config.noise, torch.Generator().manual_seed(config.seed + 53))
            noisy = shown[:, 0].numpy() if config.model == "dae" else None
            snapshot = reconstruct(model, shown)[:, 0].numpy()
        log._start(
            GenerativeProgress(
                config=config,
                info=dataset.info,
                parameters=sum(p.numel() for p in model.parameters()),
                total_steps=total_steps,
                inputs=None if is_gan else probe_pixels[:, 0].numpy(),
                noisy=noisy,
                snapshots=(snapshot,),
            )
        )
        val_pixels = to_pixels(dataset.val.images)
        step = 0
        model.train()
        for epoch in range(config.epochs):
            epoch_started = time.perf_counter()
            order = _order(len(train_split), config.seed, epoch)
            sums: dict[str, float] = {}
            weights: dict[str, int] = {}
            for where in batches:
                images = train_split.images[order[where]]
                count = len(images)
                step += 1
                if config.wasserstein:
                    values = _wgan_step(model, config, images, g_opt, d_opt, randomness, step)
                elif is_gan:
                    values = _gan_step(model, images, g_opt, d_opt, randomness)
                else:
                    loss, recon, kl, sparsity = _autoencoder_losses(
                        model, config, to_pixels(images), randomness
                    )
                    _check(loss.item(), step)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    values = {"recon_loss": recon.item()}
                    if kl is not None:
                        values["kl_loss"] = kl.item()
                    if sparsity is not None:
                        values["sparsity_loss"] = sparsity.item()
                for key, value in values.items():
                    _check(value, step)
                    sums[key] = sums.get(key, 0.0) + value * count
                    weights[key] = weights.get(key, 0) + count
                reporter.update(
                    step / total_steps,
                    _("Epoch {epoch} of {epochs}, step {step}").format(
                        epoch=epoch + 1, epochs=config.epochs, step=step
                    ),
                )
            means = {key: value / weights[key] for key, value in sums.items()}
            if is_gan:
                judged = generate(model, fixed_noise)
                histogram = class_histogram(judge_predictions(judge, judged))
                snapshot = to_pixels(judged[:SNAPSHOT_SAMPLES])[:, 0].numpy()
                metrics = GenerativeEpoch(
                    epoch=epoch + 1,
                    seconds=time.perf_counter() - epoch_started,
                    **means,
                    entropy=entropy(histogram),
                    histogram=tuple(float(share) for share in histogram),
                )
            else:
                val_recon, val_mse = _validate(model, config, val_pixels, config.seed)
                snapshot = reconstruct(model, shown)[:, 0].numpy()
                metrics = GenerativeEpoch(
                    epoch=epoch + 1,
                    seconds=time.perf_counter() - epoch_started,
                    beta=config.beta if config.model == "vae" else None,
                    val_recon=val_recon,
                    val_mse=val_mse,
                    **means,
                )
            log._add_epoch(metrics, snapshot)
            if on_epoch is not None:
                on_epoch(metrics)

    test_mse = None
    if not is_gan:
        reporter.update(1.0, _("Testing…"))
        with one_thread():
            test_mse = _validate(model, config, to_pixels(dataset.test.images), config.seed + 1)[1]
    progress = log.snapshot()
    assert progress is not None
    return GenerativeResult(
        progress=progress,
        state_dict={k: v.detach().clone() for k, v in model.state_dict().items()},
        seconds=time.perf_counter() - started,
        test_mse=test_mse,
    )


def _gan_step(
    model: GAN,
    real: torch.Tensor,
    g_opt: torch.optim.Optimizer,
    d_opt: torch.optim.Optimizer,
    generator: torch.Generator,
) -> dict[str, float]:
    """One DCGAN step: the discriminator on real (label 1) and generated (label 0) images, then the
    generator with the non-saturating loss (make the discriminator say 1 for its images)."""
    count = len(real)
    noise = torch.randn(count, model.latent, generator=generator)
    fake = model.generator(noise)
    real_logits = model.discriminator(real)
    fake_logits = model.discriminator(fake.detach())
    ones, zeros = torch.ones(count), torch.zeros(count)
    d_loss = F.binary_cross_entropy_with_logits(real_logits, ones) + F.binary_cross_entropy_with_logits(
        fake_logits, zeros
    )
    d_opt.zero_grad(set_to_none=True)
    d_loss.backward()
    d_opt.step()
    g_loss = F.binary_cross_entropy_with_logits(model.discriminator(fake), ones)
    g_opt.zero_grad(set_to_none=True)
    g_loss.backward()
    g_opt.step()
    return {
        "g_loss": g_loss.item(),
        "d_loss": d_loss.item(),
        "d_real": float(torch.sigmoid(real_logits.detach()).mean()),
        "d_fake": float(torch.sigmoid(fake_logits.detach()).mean()),
    }


def _wgan_step(
    model: GAN,
    config: GenerativeConfig,
    real: torch.Tensor,
    g_opt: torch.optim.Optimizer,
    d_opt: torch.optim.Optimizer,
    generator: torch.Generator,
    step: int,
) -> dict[str, float]:
    """One WGAN-GP step (Gulrajani et al. 2017, algorithm 1): the critic learns to score real images above
    generated ones, D(fake) − D(real) + λ·penalty, on every batch; the generator, −D(G(z)), on every
    ``critic_steps``-th. ``g_loss`` is reported only for the steps the generator takes."""
    count = len(real)
    noise = torch.randn(count, model.latent, generator=generator)
    fake = model.generator(noise)
    real_scores = model.discriminator(real)
    fake_scores = model.discriminator(fake.detach())
    mix = torch.rand(count, generator=generator)
    penalty = gradient_penalty(model.discriminator, real, fake, mix)
    distance = real_scores.mean() - fake_scores.mean()
    d_loss = -distance + config.gp_weight * penalty
    d_opt.zero_grad(set_to_none=True)
    d_loss.backward()
    d_opt.step()
    values = {"d_loss": d_loss.item(), "wasserstein": distance.item(), "gradient_penalty": penalty.item()}
    if step % config.critic_steps == 0:
        g_loss = -model.discriminator(model.generator(noise)).mean()
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        values["g_loss"] = g_loss.item()
    return values


@dataclass(frozen=True)
class LiveGenerative:
    """A run as a background job, with the log its page reads while it trains."""

    job: Job[GenerativeResult]
    log: GenerativeLog


def generative_job(
    config: GenerativeConfig, dataset: Dataset | None = None, judge: nn.Module | None = None
) -> LiveGenerative:
    """A :class:`Job` that trains ``config`` (start it, or run it here); read its progress from ``log``."""
    log = GenerativeLog()
    title = _("Training a {model}").format(model=_(MODELS[config.model].title))
    job = Job(title, lambda reporter: train(config, reporter, dataset=dataset, log=log, judge=judge))
    return LiveGenerative(job, log)


def model_from_result(result: GenerativeResult | SavedModel) -> nn.Module:
    """The trained network, rebuilt and loaded with the run's (or the file's) weights, in eval mode."""
    return model_from_checkpoint(result.config, result.state_dict)


def model_from_checkpoint(config: GenerativeConfig, state_dict: dict[str, torch.Tensor]) -> nn.Module:
    model = build_model(config.model, config.code_size, config.gan_loss)
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as exc:
        raise CheckpointError(
            _("The weights do not fit a {model} with a code of {latent}.").format(
                model=config.model, latent=config.code_size
            )
        ) from exc
    return model.eval()


def load_checkpoint(source: str | BinaryIO) -> SavedModel:
    """A model saved by the generative lab (``GenerativeResult.checkpoint``), read with
    ``weights_only=True`` so a file that would run code is refused; its weights are checked against the
    model its settings name."""
    settings, state_dict = read_lab_file(
        source,
        "cvviz.generative",
        _("That file is not a model saved by the generative lab ({reason})."),
        _("That file is not a model saved by the generative lab (save one with generate-train)."),
        CheckpointError,
    )
    try:
        config = GenerativeConfig.from_dict(settings)
    except (GenerativeConfigError, KeyError, TypeError) as exc:
        raise CheckpointError(_("The settings saved with that model are not valid.")) from exc
    model_from_checkpoint(config, state_dict)  # refuses weights that do not fit
    return SavedModel(config, state_dict)
