"""What the ``mae`` and ``dino`` commands share: loading a self-supervised model and writing the file."""

from __future__ import annotations

import numpy as np
from torch import nn

from cvviz.commands._models import read_weights_file
from cvviz.commands._output import terminal_progress
from cvviz.errors import CvvizError, UnknownModelError
from cvviz.i18n import _
from cvviz.selfsupervised.checkpoints import Method, SelfSupervisedModel, get_model, load_pretrained


def load_model(
    name: str, method: Method | None, weights: str | None, exclude: Method | None = None
) -> tuple[SelfSupervisedModel, nn.Module]:
    """The entry and its model with the published weights (cached, else downloaded with a progress bar)
    or the ``--weights`` file; never random weights, which would make the output meaningless."""
    entry = get_model(name, method)
    if entry.method == exclude:
        raise UnknownModelError(
            _(
                "{title} is shown by the mae command; choose dino_vits16, dino_vits8, dino_vitb16 or deit_s16."
            ).format(title=entry.title)
        )
    source = read_weights_file(weights) if weights else None
    progress = terminal_progress(_("Downloading {model}").format(model=entry.name))
    return entry, load_pretrained(entry, source, progress)


def save_npz(path: str, **arrays: np.ndarray) -> None:
    try:
        np.savez_compressed(path, **arrays)
    except OSError as exc:
        raise CvvizError(
            _("Could not write {out}: {value}.").format(out=path, value=exc.strerror or exc)
        ) from exc
