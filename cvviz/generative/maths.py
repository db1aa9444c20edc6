"""The small formulas of the generative lab, each on its own so it can be checked against a known answer:
the VAE's KL term and reparameterisation, WGAN-GP's gradient penalty, linear and spherical interpolation,
a class histogram and its entropy, and the 2-D projection of a larger code."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch


def gaussian_kl(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) of each row, (N, D) → (N,), in closed form (Kingma & Welling 2014,
    appendix B): ½ Σ (μ² + σ² − log σ² − 1)."""
    return 0.5 * (mean.pow(2) + log_var.exp() - log_var - 1.0).sum(dim=1)


def reparameterise(
    mean: torch.Tensor, log_var: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A draw z = μ + σ·ε with ε ~ N(0, I) (same shape as ``mean``): random only through ε, so the gradient
    reaches μ and log σ² (the reparameterisation trick)."""
    noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype)
    return mean + torch.exp(0.5 * log_var) * noise


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    mix: torch.Tensor,
) -> torch.Tensor:
    """WGAN-GP's gradient penalty before its weight λ (Gulrajani et al. 2017, eq. 3): the mean over the
    batch of (‖∇ D(x̂)‖₂ − 1)², where x̂ = ε·x_real + (1 − ε)·x_fake, ``mix`` ε (N,) one number in [0, 1]
    per image, and ``real`` and ``fake`` are (N, …). The gradient keeps its graph (``create_graph``) so the
    penalty trains the critic."""
    weights = mix.reshape(-1, *([1] * (real.dim() - 1))).to(real.dtype)
    between = (weights * real.detach() + (1 - weights) * fake.detach()).requires_grad_(True)
    (gradient,) = torch.autograd.grad(critic(between).sum(), between, create_graph=True)
    return (gradient.flatten(1).norm(dim=1) - 1).pow(2).mean()


def lerp(start: torch.Tensor, end: torch.Tensor, steps: int) -> torch.Tensor:
    """``steps`` points (steps, D) on the straight line from ``start`` (D,) to ``end`` (D,), both included."""
    weights = torch.linspace(0.0, 1.0, steps, dtype=start.dtype)[:, None]
    return (1 - weights) * start + weights * end


def slerp(start: torch.Tensor, end: torch.Tensor, steps: int) -> torch.Tensor:
    """``steps`` points (steps, D) along the great circle from ``start`` to ``end`` (Shoemake 1985; White
    2016, "Sampling generative networks"), their norms interpolated linearly.

    Gaussian noise of many dimensions lies near a sphere; a straight line between two such points passes
    closer to the centre, where the generator was never trained, and the spherical path does not. Between
    two vectors of the same norm every point keeps that norm. Nearly parallel vectors fall back to ``lerp``.
    """
    norm_start, norm_end = start.norm(), end.norm()
    unit_start, unit_end = start / norm_start, end / norm_end
    angle = torch.arccos(torch.clamp(torch.dot(unit_start, unit_end), -1.0, 1.0))
    weights = torch.linspace(0.0, 1.0, steps, dtype=start.dtype)[:, None]
    if float(angle) < 1e-4:
        return lerp(start, end, steps)
    sin = torch.sin(angle)
    direction = (torch.sin((1 - weights) * angle) * unit_start + torch.sin(weights * angle) * unit_end) / sin
    return direction * ((1 - weights) * norm_start + weights * norm_end)


def class_histogram(predictions: np.ndarray | torch.Tensor, classes: int = 10) -> np.ndarray:
    """The share of ``predictions`` (N,) falling in each class (classes,); sums to 1 (zeros when empty)."""
    counts = np.bincount(np.asarray(predictions, dtype=np.int64).ravel(), minlength=classes)[:classes]
    total = counts.sum()
    return counts / total if total else counts.astype(float)


def entropy(histogram: np.ndarray) -> float:
    """Shannon entropy in nats of a distribution (sums to 1): ln K when K classes are equally common, 0 when
    one class takes everything (a collapsed generator)."""
    shares = np.asarray(histogram, dtype=float)
    shares = shares[shares > 0]
    return max(0.0, float(-(shares * np.log(shares)).sum())) if shares.size else 0.0


MAX_ENTROPY_10 = math.log(10)
"""The entropy of ten equally common classes, ln 10 ≈ 2.303 nats."""


def pca_plane(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean (D,) and the two principal directions (2, D) of ``codes`` (N, D); for D = 2, the codes'
    own axes (no rotation), so a 2-D code is drawn as it is."""
    mean = codes.mean(axis=0)
    if codes.shape[1] == 2:
        return np.zeros(2), np.eye(2)
    _, _, right = np.linalg.svd(codes - mean, full_matrices=False)
    return mean, right[:2]
