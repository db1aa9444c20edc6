"""The generative lab's networks: an autoencoder (plain, denoising, sparse), a variational autoencoder and a
small DCGAN, all on (N, 1, 32, 32) digits.

The autoencoders read and write pixels in [0, 1] (their decoders end in a sigmoid, the Bernoulli decoder
of the VAE paper); the GAN's generator writes the training lab's normalised scale, [-1, 1] (a tanh, as
DCGAN does), so the lab's digit classifier reads its samples as they come.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import nn

from cvviz.i18n import N_

PIXELS = 32 * 32
HIDDEN = (256, 64)
"""The autoencoders' hidden widths for a small code: 1024 → 256 → 64 → code, and back the same way."""


def hidden_widths(latent: int) -> tuple[int, ...]:
    """The hidden widths for a code of ``latent`` numbers: the steps of :data:`HIDDEN` wider than the code,
    so the encoder narrows all the way from the pixels to the code (1024 → 256 → 64 → 2; 1024 → 256 → 100;
    for a code as large as the image, 1024 → 1024 directly) and no hidden layer is a tighter bottleneck
    than the code itself."""
    return tuple(width for width in HIDDEN if width > latent)


def _mlp(sizes: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index, (width_in, width_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(width_in, width_out))
        if index < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """An undercomplete autoencoder: a fully connected encoder 1024 → 256 → 64 → ``latent`` (only the hidden
    layers wider than the code, :func:`hidden_widths`) and a mirrored decoder ending in a sigmoid (Hinton & Salakhutdinov 2006, "Reducing the dimensionality of data with
    neural networks"). The same network serves the denoising variant (Vincent et al. 2008, "Extracting and
    composing robust features with denoising autoencoders": corrupted input, clean target) and the sparse
    one (an L1 penalty on the code; Ng 2011, "Sparse autoencoder" lecture notes); only the loss differs.
    """

    def __init__(self, latent: int = 2) -> None:
        super().__init__()
        self.latent = latent
        hidden = hidden_widths(latent)
        self.encoder = _mlp((PIXELS, *hidden, latent))
        self.decoder = _mlp((latent, *reversed(hidden), PIXELS))

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, 1, 32, 32) pixels in [0, 1] → codes (N, latent)."""
        return self.encoder(torch.flatten(pixels, 1))

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (N, latent) → pixels (N, 1, 32, 32) in [0, 1]."""
        return torch.sigmoid(self.decoder(codes)).view(-1, 1, 32, 32)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(pixels))


class VAE(nn.Module):
    """A variational autoencoder (Kingma & Welling 2014, "Auto-encoding variational Bayes"): the encoder
    gives the mean μ and log-variance log σ² of a diagonal Gaussian over the code, a code is drawn as
    z = μ + σ·ε with ε ~ N(0, I) (the reparameterisation trick, so gradients flow through μ and σ), and
    the decoder maps z back to pixels. Trained on reconstruction + β·KL(q(z|x) ‖ N(0, I)); β > 1 is the
    β-VAE of Higgins et al. 2017."""

    def __init__(self, latent: int = 2) -> None:
        super().__init__()
        self.latent = latent
        hidden = hidden_widths(latent)
        self.encoder = nn.Sequential(_mlp((PIXELS, *hidden)), nn.ReLU()) if hidden else nn.Identity()
        features = hidden[-1] if hidden else PIXELS
        self.mean = nn.Linear(features, latent)
        self.log_var = nn.Linear(features, latent)
        self.decoder = _mlp((latent, *reversed(hidden), PIXELS))

    def encode_distribution(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 1, 32, 32) pixels → μ and log σ², each (N, latent)."""
        hidden = self.encoder(torch.flatten(pixels, 1))
        return self.mean(hidden), self.log_var(hidden)

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        """The code of each image, taken as the mean μ (N, latent) of its Gaussian."""
        return self.encode_distribution(pixels)[0]

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (N, latent) → pixels (N, 1, 32, 32) in [0, 1]."""
        return torch.sigmoid(self.decoder(codes)).view(-1, 1, 32, 32)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """The reconstruction from the mean code (what the page shows; training samples a code)."""
        return self.decode(self.encode(pixels))


class Generator(nn.Module):
    """DCGAN's generator (Radford, Metz & Chintala 2016, "Unsupervised representation learning with deep
    convolutional generative adversarial networks"), scaled down: noise (N, latent) → a linear layer to
    4×4×4w → transposed convolutions with batch norm and ReLU to 8×8×2w, 16×16×w → 32×32×1 with tanh
    (``width`` w)."""

    def __init__(self, latent: int = 32, width: int = 8) -> None:
        super().__init__()
        self.latent = latent
        self.project = nn.Sequential(
            nn.Linear(latent, 4 * 4 * 4 * width), nn.BatchNorm1d(4 * 4 * 4 * width), nn.ReLU()
        )
        self.width = width
        self.body = nn.Sequential(
            nn.ConvTranspose2d(4 * width, 2 * width, 4, stride=2, padding=1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1),
            nn.Tanh(),
        )

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        """Noise (N, latent) → images (N, 1, 32, 32) in [-1, 1]."""
        return self.body(self.project(noise).view(-1, 4 * self.width, 4, 4))


class Discriminator(nn.Module):
    """DCGAN's discriminator, scaled down: strided 4×4 convolutions with leaky ReLU (slope 0.2; batch norm
    after the first) 32×32×1 → 16×16×w → 8×8×2w → 4×4×4w, then one logit: real or generated.

    As WGAN-GP's critic (``critic=True``) it normalises each image on its own (layer norm over channels and
    positions, as ``GroupNorm`` with one group) instead of over the batch: the gradient penalty is taken
    per image, and batch norm would tie each image's score to the others' (Gulrajani et al. 2017, §4)."""

    def __init__(self, width: int = 8, critic: bool = False) -> None:
        super().__init__()

        def norm(channels: int) -> nn.Module:
            return nn.GroupNorm(1, channels) if critic else nn.BatchNorm2d(channels)

        self.body = nn.Sequential(
            nn.Conv2d(1, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),
            norm(2 * width),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 4 * width, 4, stride=2, padding=1),
            norm(4 * width),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(4 * 4 * 4 * width, 1),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images (N, 1, 32, 32) in [-1, 1] → logits (N,) (the critic's scores, for WGAN-GP)."""
        return self.body(images).squeeze(1)


GAN_WIDTH = 8
"""Channels of the GAN's widest-resolution layer (DCGAN uses 64 or 128; 8 trains in seconds on a CPU)."""


GAN_LOSSES = {"dcgan": N_("DCGAN (real or fake)"), "wgan-gp": N_("WGAN-GP (Wasserstein, gradient penalty)")}
"""The GAN's training objectives: DCGAN's cross-entropy, or the Wasserstein loss with a gradient penalty
(Gulrajani et al. 2017, "Improved training of Wasserstein GANs")."""


class GAN(nn.Module):
    """A generator and its discriminator (a critic, for WGAN-GP), kept together so one state_dict saves
    both."""

    def __init__(self, latent: int = 32, width: int = GAN_WIDTH, critic: bool = False) -> None:
        super().__init__()
        self.latent = latent
        self.generator = Generator(latent, width)
        self.discriminator = Discriminator(width, critic=critic)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.generator(noise)


@dataclass(frozen=True)
class GenerativeModel:
    """A model the lab offers: its title, what it teaches, its default code size and its paper."""

    name: str
    title: str
    description: str
    default_latent: int
    paper: str

    @property
    def is_gan(self) -> bool:
        return self.name == "gan"

    @property
    def is_autoencoder(self) -> bool:
        return not self.is_gan


MODELS: dict[str, GenerativeModel] = {
    "ae": GenerativeModel(
        "ae", N_("Autoencoder"),
        N_("Squeezes each digit through a small code and rebuilds it; the code is a map of the digits."),
        2, "Hinton & Salakhutdinov 2006",
    ),
    "dae": GenerativeModel(
        "dae", N_("Denoising autoencoder"),
        N_("Sees noisy digits and must rebuild the clean ones, so it learns what a digit looks like."),
        2, "Vincent et al. 2008",
    ),
    "sae": GenerativeModel(
        "sae", N_("Sparse autoencoder"),
        N_("An L1 penalty keeps most of the code near zero, so each digit uses few code units."),
        2, "Ng 2011",
    ),
    "vae": GenerativeModel(
        "vae", N_("Variational autoencoder"),
        N_("Encodes each digit as a Gaussian and is pulled towards N(0, I), so the whole code plane decodes to digits."),
        2, "Kingma & Welling 2014",
    ),
    "gan": GenerativeModel(
        "gan", N_("DCGAN"),
        N_("A generator makes digits from noise; a discriminator tells them from real ones; each trains against the other."),
        32, "Radford et al. 2016",
    ),
}  # fmt: skip


def build_model(name: str, latent: int, gan_loss: str = "dcgan") -> nn.Module:
    """The network for model ``name`` with a code (or noise) of ``latent`` numbers (for the GAN, with the
    discriminator its ``gan_loss`` needs), initialised from torch's generator as it stands (seed it
    first)."""
    if name == "vae":
        return VAE(latent)
    if name == "gan":
        return GAN(latent, critic=gan_loss == "wgan-gp")
    return Autoencoder(latent)
