"""The generative lab: autoencoders, a VAE and a GAN trained live on the digits, and their latent spaces.

* :mod:`.models` — the networks, each with its paper: autoencoder (plain, denoising, sparse), VAE, DCGAN;
* :mod:`.maths` — the KL term, the reparameterisation trick, linear and spherical interpolation, a class
  histogram and its entropy;
* :mod:`.config` — a run's settings, checked when made;
* :mod:`.loop` — the training loops as a job the app and the CLI both drive, and the GAN's digit judge;
* :mod:`.explore` — the trained model's latent space: encoded digits, a decoded grid, interpolations.
"""

from cvviz.generative.config import GenerativeConfig, GenerativeConfigError
from cvviz.generative.loop import (
    GenerativeDiverged,
    LiveGenerative,
    generative_job,
    load_checkpoint,
    model_from_result,
    train,
)
from cvviz.generative.models import MODELS
from cvviz.generative.results import GenerativeEpoch, GenerativeLog, GenerativeProgress, GenerativeResult

__all__ = [
    "MODELS",
    "GenerativeConfig",
    "GenerativeConfigError",
    "GenerativeDiverged",
    "GenerativeEpoch",
    "GenerativeLog",
    "GenerativeProgress",
    "GenerativeResult",
    "LiveGenerative",
    "generative_job",
    "load_checkpoint",
    "model_from_result",
    "train",
]
