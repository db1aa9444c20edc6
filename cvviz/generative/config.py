"""A generative run's settings, checked when they are made: a bad value is one sentence, before any work."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from cvviz.errors import CvvizError
from cvviz.generative.models import GAN_LOSSES, MODELS, PIXELS
from cvviz.i18n import _

MAX_EPOCHS = 500
MAX_LATENT = PIXELS
"""The largest code: as many numbers as a digit has pixels (32 × 32)."""
DEFAULT_LR = {False: 5e-3, True: 1e-3}
"""Adam's learning rate unless set: autoencoders (False) and the GAN (True)."""
DEFAULT_BATCH = {False: 32, True: 64}
"""Images per step unless set: autoencoders (False) and the GAN (True)."""


class GenerativeConfigError(CvvizError, ValueError):
    """A setting that no generative run can use."""


@dataclass(frozen=True)
class GenerativeConfig:
    """Everything a run depends on; the same config and seed give the same losses on the CPU.

    ``latent`` is the code size (the noise size for the GAN); None means the model's default (2 for the
    autoencoders, so the code plane can be drawn; 32 for the GAN). ``beta`` weighs the VAE's KL term,
    ``noise`` is the standard deviation of the Gaussian noise the denoising autoencoder sees (pixels in
    [0, 1]), ``sparsity`` the weight of the sparse autoencoder's L1 penalty on the code. ``lr`` is Adam's
    learning rate (the discriminator's, for the GAN; None: the model's default, :data:`DEFAULT_LR`);
    ``g_lr`` the generator's (None: the same as the discriminator's).
    ``gan_loss`` is the GAN's objective (:data:`~cvviz.generative.models.GAN_LOSSES`): ``"dcgan"``, or
    ``"wgan-gp"``, where the critic takes ``critic_steps`` steps for each of the generator's and its
    gradient penalty weighs ``gp_weight`` (λ; the paper's 5 and 10).
    ``batch_size`` None means the model's default (:data:`DEFAULT_BATCH`). ``train_images`` limits the training split to its first N images (quick experiments and tests).
    """

    model: str = "vae"
    latent: int | None = None
    epochs: int = 20
    batch_size: int | None = None
    lr: float | None = None
    g_lr: float | None = None
    beta: float = 1.0
    noise: float = 0.5
    sparsity: float = 1e-2
    seed: int = 0
    train_images: int | None = None
    gan_loss: str = "dcgan"
    critic_steps: int = 5
    gp_weight: float = 10.0

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise GenerativeConfigError(
                _("Unknown generative model {name!r}; choose one of {names}.").format(
                    name=self.model, names=", ".join(MODELS)
                )
            )
        if self.gan_loss not in GAN_LOSSES:
            raise GenerativeConfigError(
                _("Unknown GAN loss {name!r}; choose one of {names}.").format(
                    name=self.gan_loss, names=", ".join(GAN_LOSSES)
                )
            )
        _whole(_("number of critic steps"), self.critic_steps, 1, 100)
        if self.latent is not None:
            _whole(_("code size"), self.latent, 1, MAX_LATENT)
        _whole(_("number of epochs"), self.epochs, 1, MAX_EPOCHS)
        if self.batch_size is not None:
            _whole(_("batch size"), self.batch_size, 2, 65536)
        for what, value in ((_("learning rate"), self.lr), (_("generator learning rate"), self.g_lr)):
            if value is not None and (not _finite(value) or value <= 0):
                raise GenerativeConfigError(
                    _("The {what} must be a positive number, not {value}.").format(what=what, value=value)
                )
        for what, value in (
            (_("β"), self.beta),
            (_("noise level"), self.noise),
            (_("sparsity"), self.sparsity),
            (_("gradient penalty weight"), self.gp_weight),
        ):
            if not _finite(value) or value < 0:
                raise GenerativeConfigError(
                    _("The {what} must be zero or positive, not {value}.").format(what=what, value=value)
                )
        if self.train_images is not None:
            _whole(_("number of training images"), self.train_images, 2, 10**7)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise GenerativeConfigError(
                _("The seed must be a whole number of at least 0, not {value!r}.").format(value=self.seed)
            )

    @property
    def code_size(self) -> int:
        """The code (or noise) size the network is built with."""
        return self.latent if self.latent is not None else MODELS[self.model].default_latent

    @property
    def wasserstein(self) -> bool:
        """A GAN trained with WGAN-GP's critic and gradient penalty."""
        return MODELS[self.model].is_gan and self.gan_loss == "wgan-gp"

    @property
    def batch(self) -> int:
        """Images per step (``batch_size``, or the model's default)."""
        return self.batch_size if self.batch_size is not None else DEFAULT_BATCH[MODELS[self.model].is_gan]

    @property
    def learning_rate(self) -> float:
        """Adam's learning rate (the discriminator's, for the GAN)."""
        return self.lr if self.lr is not None else DEFAULT_LR[MODELS[self.model].is_gan]

    @property
    def generator_lr(self) -> float:
        return self.g_lr if self.g_lr is not None else self.learning_rate

    def replace(self, **changes: object) -> GenerativeConfig:
        """A copy with ``changes`` (checked again)."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, object]:
        """Plain values only (saved beside the weights; reads back with ``weights_only=True``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> GenerativeConfig:
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})

    def effective(self) -> dict[str, object]:
        """Every setting as the run uses it (defaults resolved: code size, batch, learning rates)."""
        return dataclasses.asdict(self) | {
            "latent": self.code_size,
            "batch_size": self.batch,
            "lr": self.learning_rate,
            "g_lr": self.generator_lr,
        }

    def describe(self) -> str:
        """The model, its code size and the settings that matter for it and differ from its defaults, in
        one line (tables and legends)."""
        own = {"dae": {"noise"}, "sae": {"sparsity"}, "vae": {"beta"}, "gan": {"g_lr", "gan_loss"}}
        mine = own.get(self.model, set()) | ({"critic_steps", "gp_weight"} if self.wasserstein else set())
        ignored = {"model", "latent", *{setting for settings in own.values() for setting in settings}}
        ignored = (ignored | {"critic_steps", "gp_weight"}) - mine
        default = GenerativeConfig(model=self.model, gan_loss=self.gan_loss).effective()
        default |= {"g_lr": self.learning_rate, "gan_loss": "dcgan"}
        parts = [self.model, f"latent={self.code_size}"]
        for name, value in self.effective().items():
            if name not in ignored and value != default[name]:
                parts.append(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}")
        return ", ".join(parts)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _whole(what: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise GenerativeConfigError(
            _("The {what} must be a whole number from {low} to {high}, not {value!r}.").format(
                what=what, low=low, high=high, value=value
            )
        )
