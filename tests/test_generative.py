"""The generative lab: the VAE's maths against known answers, reproducible and learning training loops, the
GAN's mode-collapse meter, the latent-space explorers and the ``generate-train`` / ``generate`` commands."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image
from torch.distributions import Normal, kl_divergence

from cvviz.cli import main
from cvviz.generative import GenerativeConfig, GenerativeConfigError, load_checkpoint, train
from cvviz.generative.explore import (
    ExploreError,
    decoded_grid,
    digit_pixels,
    interpolate_digits,
    latent_map,
    noise_vector,
    reconstructions,
    samples,
)
from cvviz.generative.loop import (
    JUDGED_SAMPLES,
    CheckpointError,
    generate,
    judge_predictions,
    model_from_result,
    reconstruct,
    to_pixels,
)
from cvviz.generative.maths import (
    class_histogram,
    entropy,
    gaussian_kl,
    gradient_penalty,
    lerp,
    reparameterise,
    slerp,
)
from cvviz.generative.models import PIXELS
from cvviz.training.config import TrainingConfig
from cvviz.training.data import load_digits_dataset
from cvviz.training.loop import network_from_result
from cvviz.training.loop import train as train_classifier

QUICK = GenerativeConfig(model="vae", epochs=3, train_images=256, batch_size=32)
"""A run of a fraction of a second: three epochs over 256 training digits."""


@pytest.fixture(scope="module")
def digits():
    return load_digits_dataset()


@pytest.fixture(scope="module")
def quick_vae(digits):
    return train(QUICK, dataset=digits)


def _losses(result) -> list[dict]:
    return [{k: v for k, v in dataclasses.asdict(m).items() if k != "seconds"} for m in result.epochs]


def test_gaussian_kl_equals_the_closed_form_of_torch_distributions():
    generator = torch.Generator().manual_seed(0)
    mean, log_var = torch.randn(6, 4, generator=generator), torch.randn(6, 4, generator=generator)
    expected = kl_divergence(Normal(mean, torch.exp(0.5 * log_var)), Normal(0.0, 1.0)).sum(dim=1)
    torch.testing.assert_close(gaussian_kl(mean, log_var), expected)
    assert float(gaussian_kl(torch.zeros(1, 3), torch.zeros(1, 3))) == 0.0  # the prior itself


def test_reparameterised_draws_have_the_requested_mean_and_variance_and_pass_gradients():
    mean = torch.tensor([[1.0, -2.0]]).repeat(100_000, 1).requires_grad_()
    log_var = torch.log(torch.tensor([[0.25, 4.0]])).repeat(100_000, 1).requires_grad_()
    draws = reparameterise(mean, log_var, torch.Generator().manual_seed(0))
    # Four standard errors: sd/sqrt(n) for the mean, about var*sqrt(2/n) for the variance.
    torch.testing.assert_close(draws.mean(0), torch.tensor([1.0, -2.0]), atol=4 * 2 / 316, rtol=0)
    torch.testing.assert_close(draws.var(0), torch.tensor([0.25, 4.0]), atol=0, rtol=4 * math.sqrt(2e-5))
    draws.sum().backward()
    assert torch.all(mean.grad == 1.0)  # dz/dμ = 1: the gradient reaches the encoder
    assert log_var.grad.abs().sum() > 0


def test_spherical_interpolation_keeps_the_norm_and_ends_at_both_vectors():
    generator = torch.Generator().manual_seed(1)
    start, end = torch.randn(32, generator=generator), torch.randn(32, generator=generator)
    start, end = 5 * start / start.norm(), 5 * end / end.norm()
    path = slerp(start, end, 9)
    torch.testing.assert_close(path.norm(dim=1), torch.full((9,), 5.0))
    torch.testing.assert_close(path[0], start)
    torch.testing.assert_close(path[-1], end)
    assert float(lerp(start, end, 9)[4].norm()) < 4.5  # the straight path dips inside the sphere


def test_entropy_of_a_uniform_class_histogram_is_log_10_and_of_a_collapse_is_0():
    uniform = class_histogram(np.repeat(np.arange(10), 7))
    np.testing.assert_allclose(uniform, np.full(10, 0.1))
    assert entropy(uniform) == pytest.approx(math.log(10))
    assert entropy(class_histogram(np.full(50, 3))) == 0.0


def test_same_seed_gives_the_same_losses_and_another_seed_does_not(digits, quick_vae):
    again = train(QUICK, dataset=digits)
    assert _losses(again) == _losses(quick_vae)
    other = train(QUICK.replace(seed=1, epochs=1), dataset=digits)
    assert _losses(other)[0] != _losses(quick_vae)[0]


def test_a_short_vae_training_lowers_the_reconstruction_loss_and_charts_both_terms(quick_vae):
    epochs = quick_vae.epochs
    assert epochs[-1].val_recon < epochs[0].val_recon and epochs[-1].recon_loss < epochs[0].recon_loss
    assert all(m.kl_loss > 0 and m.beta == 1.0 for m in epochs)
    inputs, before, after = (
        quick_vae.progress.inputs,
        quick_vae.progress.snapshots[0],
        quick_vae.progress.snapshots[-1],
    )
    assert np.mean((after - inputs) ** 2) < np.mean((before - inputs) ** 2)
    assert (
        set(epochs[0].as_dict()) >= {"recon_loss", "kl_loss", "val_mse"}
        and "g_loss" not in epochs[0].as_dict()
    )


def test_the_latent_map_the_grid_and_interpolation_use_the_models_codes(digits, quick_vae):
    plane = latent_map(quick_vae, digits)
    assert plane.points.shape == (len(digits.test), 2) and not plane.projected
    model = model_from_result(quick_vae)
    with torch.inference_mode():
        first = model.encode(torch.as_tensor(digit_pixels(digits, [0]))[:, None]).numpy()[0]
    np.testing.assert_allclose(plane.points[0], first, rtol=1e-5, atol=1e-6)
    grid = decoded_grid(quick_vae, plane, steps=4)
    assert grid.shape == (4, 4, 32, 32) and grid.min() >= 0 and grid.max() <= 1
    path = interpolate_digits(quick_vae, digits, 0, 1, steps=5)
    with torch.inference_mode():
        ends = model(torch.as_tensor(digit_pixels(digits, [0, 1]))[:, None])[:, 0].numpy()
    np.testing.assert_allclose(path[[0, -1]], ends, atol=1e-5)  # the path's ends are the digits' own codes
    assert samples(quick_vae, 6).shape == (6, 32, 32)


def _small_checks(dataset):
    """``dataset`` with 16 validation digits, so the per-epoch check of a longer test run costs little."""
    return dataclasses.replace(dataset, val=dataset.val.subset(np.arange(16)))


def test_an_autoencoder_with_a_code_as_large_as_its_input_learns_near_identity_on_a_tiny_set(digits):
    tiny = GenerativeConfig(model="ae", epochs=40, train_images=16, batch_size=8, lr=2e-3)
    pixels = to_pixels(digits.train.images[:16])
    errors = {}
    for latent in (PIXELS, 2):
        result = train(tiny.replace(latent=latent), dataset=_small_checks(digits))
        errors[latent] = float(((reconstruct(model_from_result(result), pixels) - pixels) ** 2).mean())
    # The digits' pixels vary by about 0.06 around their mean; a code of 2 cannot do much better than
    # the mean digit (about 0.016), a code of 1024 passes each image through nearly unchanged.
    assert errors[PIXELS] < 0.003 and errors[PIXELS] < errors[2] / 4, errors


def test_the_denoising_autoencoder_rebuilds_noisy_digits_better_than_the_plain_one(digits):
    settings = GenerativeConfig(epochs=15, latent=64, train_images=128, batch_size=8, lr=2e-3, noise=0.5)
    shown = list(range(200))
    noisy, clean = {}, {}
    for model in ("ae", "dae"):
        result = train(settings.replace(model=model), dataset=_small_checks(digits))
        noisy[model] = float(reconstructions(result, digits, shown, noise=0.5, seed=3).errors.mean())
        clean[model] = float(reconstructions(result, digits, shown).errors.mean())
    # Seeds 0-2 put the denoising AE's error at 0.48-0.70 of the plain AE's on noisy test digits.
    assert noisy["dae"] < 0.8 * noisy["ae"], noisy
    assert clean["ae"] < clean["dae"], clean  # the plain AE is no worse trained: its edge is on clean inputs


def test_a_larger_code_is_drawn_on_its_two_principal_directions(digits):
    result = train(GenerativeConfig(model="ae", latent=8, epochs=1, train_images=64), dataset=digits)
    plane = latent_map(result, digits)
    assert plane.projected and plane.basis.shape == (2, 8)
    np.testing.assert_allclose(plane.basis @ plane.basis.T, np.eye(2), atol=1e-8)  # orthonormal
    spread = np.var(plane.points, axis=0)
    assert spread[0] >= spread[1]  # the first direction carries the most variance
    with pytest.raises(ExploreError, match="no prior"):
        samples(result, 4)


@pytest.fixture(scope="module")
def judge(digits):
    """A digit classifier of a second's training: enough to read generated digits in a test."""
    return network_from_result(
        train_classifier(TrainingConfig(epochs=1, train_images=128, batch_size=32), dataset=digits)
    )


def test_the_gan_class_histogram_is_the_classifiers_reading_of_its_samples(digits, judge):
    config = GenerativeConfig(model="gan", epochs=1, train_images=128, latent=8)
    result = train(config, dataset=digits, judge=judge)
    metrics = result.epochs[0]
    noise = torch.randn(JUDGED_SAMPLES, 8, generator=torch.Generator().manual_seed(config.seed + 17))
    predicted = judge_predictions(judge, generate(model_from_result(result), noise))
    np.testing.assert_allclose(metrics.histogram, np.bincount(predicted, minlength=10) / JUDGED_SAMPLES)
    assert metrics.entropy == pytest.approx(entropy(np.array(metrics.histogram)))
    assert set(metrics.as_dict()) >= {"g_loss", "d_loss", "entropy", "histogram"}
    assert noise_vector(8, 3).tolist() == noise_vector(8, 3).tolist()


def test_the_gradient_penalty_equals_its_definition_on_critics_with_known_gradients():
    generator = torch.Generator().manual_seed(4)
    real, fake = torch.randn(5, 1, 4, 4, generator=generator), torch.randn(5, 1, 4, 4, generator=generator)
    mix = torch.rand(5, generator=generator)
    between = mix[:, None, None, None] * real + (1 - mix[:, None, None, None]) * fake
    # D(x) = a·½‖x‖² has the gradient a·x, so the penalty is the mean of (a‖x̂‖ − 1)² ...
    scale = torch.tensor(0.3, requires_grad=True)
    penalty = gradient_penalty(lambda x: scale * 0.5 * x.pow(2).sum(dim=(1, 2, 3)), real, fake, mix)
    norms = between.flatten(1).norm(dim=1)
    torch.testing.assert_close(penalty, ((0.3 * norms - 1) ** 2).mean())
    # ... and its derivative in a, mean of 2(a‖x̂‖ − 1)‖x̂‖, reaches the critic (the graph is kept).
    penalty.backward()
    torch.testing.assert_close(scale.grad, (2 * (0.3 * norms - 1) * norms).mean())
    # A linear critic w·x has the gradient w at every point: the penalty is (‖w‖ − 1)².
    weight = torch.randn(16, generator=generator)
    linear = gradient_penalty(lambda x: x.flatten(1) @ weight, real, fake, mix)
    torch.testing.assert_close(linear, (weight.norm() - 1) ** 2)


def test_a_wgan_gp_run_trains_a_critic_without_batch_norm_and_reports_its_distance(digits, judge):
    config = GenerativeConfig(
        model="gan", gan_loss="wgan-gp", critic_steps=2, epochs=2, train_images=64, batch_size=16, latent=8
    )
    result = train(config, dataset=digits, judge=judge)
    critic = model_from_result(result).discriminator
    assert not any(isinstance(layer, torch.nn.BatchNorm2d) for layer in critic.modules())
    for metrics in result.epochs:  # four critic steps an epoch, two of them followed by a generator step
        assert metrics.gradient_penalty >= 0 and math.isfinite(metrics.wasserstein)
        assert metrics.d_real is None and {"g_loss", "wasserstein"} <= set(metrics.as_dict())
    assert "gan_loss=wgan-gp" in config.describe() and "critic_steps=2" in config.describe()
    dcgan = dataclasses.replace(
        result, progress=dataclasses.replace(result.progress, config=config.replace(gan_loss="dcgan"))
    )
    with pytest.raises(CheckpointError, match="do not fit"):
        model_from_result(dcgan)  # a critic's weights do not load into DCGAN's discriminator


def test_a_bad_setting_is_one_sentence():
    with pytest.raises(GenerativeConfigError, match="Unknown generative model"):
        GenerativeConfig(model="diffusion")
    with pytest.raises(GenerativeConfigError, match="β must be zero or positive"):
        GenerativeConfig(beta=-1.0)
    with pytest.raises(GenerativeConfigError, match="Unknown GAN loss"):
        GenerativeConfig(model="gan", gan_loss="hinge")


def test_cli_trains_saves_and_generates(tmp_path, capsys):
    saved = tmp_path / "vae.pt"
    assert main(["generate-train", "--model", "vae", "--epochs", "1", "--out", str(saved), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["epoch"] == 1 and {"recon_loss", "kl_loss"} <= set(lines[0]) and "test_mse" in lines[-1]
    assert load_checkpoint(str(saved)).config.model == "vae"
    grid = tmp_path / "grid.png"
    assert main(["generate", "--model", str(saved), "--n", "9", "--out", str(grid)]) == 0
    assert Image.open(grid).size == (3 * 32 + 2 * 2, 3 * 32 + 2 * 2)
    path = tmp_path / "path.png"
    assert (
        main(
            ["generate", "--model", str(saved), "--interpolate", "0", "5", "--steps", "4", "--out", str(path)]
        )
        == 0
    )
    assert Image.open(path).size == (4 * 32 + 3 * 2, 32)


def test_cli_passes_the_wgan_gp_settings_on_and_refuses_a_bad_one_in_a_line(tmp_path, capsys):
    out = str(tmp_path / "gan.pt")
    assert (
        main(["generate-train", "--model", "gan", "--loss", "wgan-gp", "--critic-steps", "0", "--out", out])
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: The number of critic steps must be") and "\n" not in err
    assert (
        main(["generate-train", "--model", "gan", "--loss", "wgan-gp", "--gp-weight", "-1", "--out", out])
        == 2
    )
    assert "gradient penalty weight" in capsys.readouterr().err


def test_cli_refuses_a_file_that_is_not_a_generative_model(tmp_path, capsys):
    other = tmp_path / "other.pt"
    torch.save({"weight": torch.zeros(2)}, other)
    assert main(["generate", "--model", str(other), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: That file is not a model saved by the generative lab") and "\n" not in err
    with pytest.raises(CheckpointError):
        load_checkpoint(str(tmp_path / "missing.pt"))
