"""What a generative run leaves: per-epoch losses, snapshots of its pictures, live progress and the result.

Plain data, read by the page, the CLI and the explorers; :class:`GenerativeLog` is the thread-safe live
view the loop writes and the page reads while a run is going.
"""

from __future__ import annotations

import dataclasses
import io
import threading
from dataclasses import dataclass

import numpy as np
import torch

from cvviz.generative.config import GenerativeConfig
from cvviz.training.data import DatasetInfo


@dataclass(frozen=True)
class GenerativeEpoch:
    """One epoch. Autoencoders: ``recon_loss`` (binary cross-entropy summed over an image's pixels, mean over
    the epoch's training images), ``kl_loss`` (the VAE's KL to N(0, I) per image, before β weighs it) and
    ``sparsity_loss`` (the sparse AE's mean L1 norm of the code, before its weight), then ``val_recon`` and
    ``val_mse`` (mean squared error per pixel, pixels in [0, 1]) on the validation images, reconstructed
    from the mean code (the denoising AE from noisy inputs). GAN: the epoch's mean generator and
    discriminator losses, the discriminator's mean probability of "real" for real and generated images
    (DCGAN) or, for WGAN-GP, the critic's estimate of the Wasserstein distance (mean score of real minus
    generated images) and its gradient penalty before λ, and ``histogram`` (10,), the share of generated digits the digit classifier puts in each class, with
    its ``entropy`` in nats (ln 10 ≈ 2.30 when every digit is as common; 0 when one takes all)."""

    epoch: int
    seconds: float
    recon_loss: float | None = None
    kl_loss: float | None = None
    beta: float | None = None
    sparsity_loss: float | None = None
    val_recon: float | None = None
    val_mse: float | None = None
    g_loss: float | None = None
    d_loss: float | None = None
    d_real: float | None = None
    d_fake: float | None = None
    wasserstein: float | None = None
    gradient_penalty: float | None = None
    entropy: float | None = None
    histogram: tuple[float, ...] | None = None

    def as_dict(self) -> dict[str, object]:
        """The CLI's JSON line for the epoch: the fields this model has."""
        values = {key: value for key, value in dataclasses.asdict(self).items() if value is not None}
        if "histogram" in values:
            values["histogram"] = list(values["histogram"])
        return values


@dataclass(frozen=True)
class GenerativeProgress:
    """What a run has recorded so far (a consistent snapshot, safe to read while it trains).

    ``inputs`` (K, 32, 32) are the test images it reconstructs after every epoch (autoencoders; one of
    each digit), ``noisy`` (K, 32, 32) what the denoising AE sees of them; ``snapshots`` holds, before
    training and after each epoch, the reconstructions of ``inputs`` (autoencoders) or the samples from a
    fixed batch of noise (GAN), each (K, 32, 32), pixels in [0, 1].
    """

    config: GenerativeConfig
    info: DatasetInfo
    parameters: int
    total_steps: int
    inputs: np.ndarray | None = None
    noisy: np.ndarray | None = None
    epochs: tuple[GenerativeEpoch, ...] = ()
    snapshots: tuple[np.ndarray, ...] = ()


@dataclass(frozen=True)
class GenerativeResult:
    """A finished run: its progress, the trained weights and, for the autoencoders, the test images'
    reconstruction error (``test_mse``, per pixel) and for the GAN the last class-histogram entropy."""

    progress: GenerativeProgress
    state_dict: dict[str, torch.Tensor]
    seconds: float
    test_mse: float | None = None

    @property
    def config(self) -> GenerativeConfig:
        return self.progress.config

    @property
    def epochs(self) -> tuple[GenerativeEpoch, ...]:
        return self.progress.epochs

    def final_dict(self) -> dict[str, object]:
        """The CLI's last JSON line."""
        values: dict[str, object] = {"seconds": self.seconds, "parameters": self.progress.parameters}
        if self.test_mse is not None:
            values["test_mse"] = self.test_mse
        if self.epochs and self.epochs[-1].entropy is not None:
            values["entropy"] = self.epochs[-1].entropy
        return values

    def checkpoint(self) -> dict[str, object]:
        """The settings (plain values) and the weights: what ``torch.save`` writes, and what
        :func:`cvviz.generative.loop.load_checkpoint` reads back with ``weights_only=True``."""
        return {"kind": "cvviz.generative", "config": self.config.as_dict(), "state_dict": self.state_dict}

    def checkpoint_bytes(self) -> bytes:
        buffer = io.BytesIO()
        torch.save(self.checkpoint(), buffer)
        return buffer.getvalue()


@dataclass(frozen=True)
class SavedModel:
    """A model read back from a file: its settings and weights, without the history of its training. The
    explorers take it wherever they take a :class:`GenerativeResult`."""

    config: GenerativeConfig
    state_dict: dict[str, torch.Tensor]


class GenerativeLog:
    """The live record of a run: the worker thread writes, any other thread reads :meth:`snapshot`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._progress: GenerativeProgress | None = None

    def _start(self, progress: GenerativeProgress) -> None:
        with self._lock:
            self._progress = progress

    def _add_epoch(self, epoch: GenerativeEpoch, snapshot: np.ndarray) -> None:
        with self._lock:
            assert self._progress is not None
            self._progress = dataclasses.replace(
                self._progress,
                epochs=(*self._progress.epochs, epoch),
                snapshots=(*self._progress.snapshots, snapshot),
            )

    def snapshot(self) -> GenerativeProgress | None:
        """The run so far, or None before it has started."""
        with self._lock:
            return self._progress
