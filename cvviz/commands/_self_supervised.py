"""What the ``mae`` and ``dino`` commands share: loading a self-supervised model and writing the file."""

from __future__ import annotations

import numpy as np

from cvviz.catalog import Pretraining
from cvviz.commands._models import read_weights_file
from cvviz.commands._output import terminal_progress
from cvviz.errors import CvvizError, WeightsError
from cvviz.i18n import _
from cvviz.models.workbench import LoadedModel, Workbench
from cvviz.selfsupervised.models import self_supervised_spec


def load_model(
    name: str, pretraining: Pretraining | None, weights: str | None, exclude: Pretraining | None = None
) -> LoadedModel:
    """The catalog model with the published weights (cached, else downloaded with a progress bar) or the
    ``--weights`` file (the authors' layout or cvviz's); never random weights, which would make the
    output meaningless."""
    spec = self_supervised_spec(name, pretraining, exclude)
    bench = Workbench()
    if weights:
        return bench.get(spec.name, "user", user_weights=read_weights_file(weights))
    try:
        progress = terminal_progress(_("Downloading {model}").format(model=spec.name))
        return bench.get(spec.name, "pretrained", progress=progress)
    except WeightsError as exc:
        if f"weights fetch {spec.name}" in str(exc):
            raise
        raise WeightsError(
            _("{reason} Fetch them while online with `python -m cvviz weights fetch {name}`.").format(
                reason=exc, name=spec.name
            )
        ) from exc


def save_npz(path: str, **arrays: np.ndarray) -> None:
    try:
        np.savez_compressed(path, **arrays)
    except OSError as exc:
        raise CvvizError(
            _("Could not write {out}: {value}.").format(out=path, value=exc.strerror or exc)
        ) from exc
