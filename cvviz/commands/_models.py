"""The model options shared by the CLI commands that run a model, and loading it with them."""

from __future__ import annotations

import argparse
import sys

from cvviz.catalog.schema import ModelSpec
from cvviz.commands._output import terminal_progress
from cvviz.errors import WeightsError
from cvviz.i18n import _
from cvviz.models.workbench import LoadedModel, Workbench


def add_weights_arguments(parser: argparse.ArgumentParser, device_default: str = "auto") -> None:
    """``--weights PATH``, ``--untrained`` and ``--device``."""
    parser.add_argument("--weights", help="a state_dict file for the model (loaded with weights_only=True)")
    parser.add_argument("--untrained", action="store_true", help="use random weights")
    parser.add_argument(
        "--device", default=device_default, help=f"auto, cpu or cuda (default {device_default})"
    )


def read_weights_file(path: str) -> bytes:
    """The bytes of the ``--weights`` file, or one sentence saying why it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise WeightsError(
            _("Could not read the weights file {path}: {reason}.").format(
                path=path, reason=exc.strerror or exc
            )
        ) from exc


def load_for_command(spec: ModelSpec, args: argparse.Namespace, shows: str) -> LoadedModel:
    """The model with the weights the options ask for: a file, random (with a warning naming what the
    command ``shows``), or the pretrained ones, downloaded with a progress bar if needed."""
    cache = Workbench()
    if args.weights:
        return cache.get(spec.name, "user", device=args.device, user_weights=read_weights_file(args.weights))
    if args.untrained or not spec.pretrained_available:
        print(
            "warning: "
            + _("{model} has random weights (untrained); its {shows} mean nothing.").format(
                model=spec.title, shows=_(shows)
            ),
            file=sys.stderr,
        )
        return cache.get(spec.name, "random", device=args.device)
    try:
        return cache.get(
            spec.name,
            "pretrained",
            device=args.device,
            progress=terminal_progress(_("Downloading {model}").format(model=spec.name)),
        )
    except WeightsError as exc:
        raise WeightsError(
            _(
                "{exc} Fetch them while online with `python -m cvviz weights fetch {name}`, pass --weights PATH, or --untrained for random weights."
            ).format(exc=exc, name=spec.name)
        ) from exc
