"""Weights: download published checkpoints (torchvision's, or the authors' own file) with progress, list
the cache, load user state_dicts safely.

Pretrained files live in the standard torch hub cache (``$TORCH_HOME/hub/checkpoints``), the same place
torchvision puts them, so a cache filled by either is shared. Every file is read with
``torch.load(..., weights_only=True)``: a checkpoint can never run code when it is loaded.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import torch
from torch import nn

from cvviz.catalog.registry import list_models
from cvviz.catalog.schema import ModelSpec
from cvviz.errors import CvvizError, WeightsError, WeightsMismatchError
from cvviz.i18n import _

ProgressCallback = Callable[[int, "int | None"], None]
"""Called as ``progress(bytes_done, bytes_total_or_None)`` while a file downloads."""

OFFLINE_ENV = "CVVIZ_OFFLINE"
"""Environment variable: set to 1 to never download (kiosks, air-gapped demos); cached weights still load."""

MIRROR_ENV = "CVVIZ_WEIGHTS_MIRROR"
"""Environment variable: a base URL that replaces torchvision's download server (e.g. a local mirror)."""

_HASH_IN_NAME = re.compile(r"-([a-f0-9]+)\.")
_CHUNK = 1 << 20


def downloads_disabled() -> bool:
    """True when ``CVVIZ_OFFLINE`` or ``CVVIZ_KIOSK`` asks cvviz never to download at run time."""
    return any(os.environ.get(name, "") not in ("", "0") for name in (OFFLINE_ENV, "CVVIZ_KIOSK"))


def hub_checkpoint_dir() -> Path:
    """The folder torch hub (and so torchvision) caches checkpoints in."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def published_url(spec: ModelSpec) -> str | None:
    """Where the spec's pretrained checkpoint is published (torchvision's, or the authors' file), if
    it has one to download."""
    if spec.torchvision_weights is not None:
        return spec.torchvision_weights.url
    if spec.checkpoint is not None:
        return spec.checkpoint.url
    return None


def weights_url(spec: ModelSpec) -> str:
    """Where the spec's pretrained checkpoint is downloaded from (mirror-aware)."""
    url = published_url(spec)
    if url is None:
        raise WeightsError(_("{title} has no downloadable pretrained weights.").format(title=spec.title))
    return mirrored_url(url)


def weights_filename(spec: ModelSpec) -> str:
    return weights_url(spec).rsplit("/", 1)[1]


def cached_weights_path(spec: ModelSpec) -> Path | None:
    """The cached checkpoint of ``spec`` if it is already on disk, else None."""
    if published_url(spec) is None:
        return None
    path = hub_checkpoint_dir() / weights_filename(spec)
    return path if path.is_file() else None


def expected_size_bytes(spec: ModelSpec) -> int | None:
    """The checkpoint size torchvision publishes (``_file_size`` in MB), if any."""
    if spec.torchvision_weights is None:
        return None
    size_mb = spec.torchvision_weights.meta.get("_file_size")
    return int(size_mb * 1024 * 1024) if size_mb else None


def download_file(
    url: str,
    destination: Path,
    *,
    progress: ProgressCallback | None = None,
    sha256_prefix: str | None = None,
    timeout: float = 20.0,
) -> Path:
    """Download ``url`` to ``destination`` atomically, reporting progress and checking the hash prefix.

    The file appears under its final name only when complete and verified, so an interrupted or
    corrupt download never poisons the cache.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    name = destination.name
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WeightsError(
            _("Could not download {name} ({reason}); is this machine offline?").format(
                name=name, reason=reason
            )
        ) from exc
    digest = hashlib.sha256()
    handle, partial = tempfile.mkstemp(prefix=name + ".", suffix=".partial", dir=destination.parent)
    try:
        with response, os.fdopen(handle, "wb") as out:
            total = response.headers.get("Content-Length")
            total_bytes = int(total) if total and total.isdigit() else None
            done = 0
            if progress:
                progress(0, total_bytes)
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total_bytes)
        if total_bytes is not None and done != total_bytes:
            raise WeightsError(
                _("The download of {name} stopped after {done} of {total_bytes} bytes.").format(
                    name=name, done=done, total_bytes=total_bytes
                )
            )
        if sha256_prefix and not digest.hexdigest().startswith(sha256_prefix):
            raise WeightsError(
                _("The downloaded {name} failed its integrity check (SHA-256 mismatch).").format(name=name)
            )
        os.replace(partial, destination)
    except (OSError, urllib.error.URLError) as exc:
        raise WeightsError(_("The download of {name} failed ({exc}).").format(name=name, exc=exc)) from exc
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return destination


def download_weights(spec: ModelSpec, progress: ProgressCallback | None = None) -> Path:
    """Ensure the spec's pretrained checkpoint is in the hub cache, downloading it if needed."""
    cached = cached_weights_path(spec)
    if cached is not None:
        return cached
    return download_checkpoint(weights_url(spec), spec.name, progress=progress)


def mirrored_url(url: str) -> str:
    """``url``, or the same file name under ``CVVIZ_WEIGHTS_MIRROR`` when a mirror is set."""
    mirror = os.environ.get(MIRROR_ENV)
    return mirror.rstrip("/") + "/" + url.rsplit("/", 1)[1] if mirror else url


def cached_checkpoint_path(url: str) -> Path | None:
    """The hub-cache copy of the checkpoint published at ``url``, if it is on disk."""
    path = hub_checkpoint_dir() / url.rsplit("/", 1)[1]
    return path if path.is_file() else None


def download_checkpoint(url: str, model: str, progress: ProgressCallback | None = None) -> Path:
    """Ensure the checkpoint at ``url`` (the weights of the model called ``model``) is in the hub cache.

    The rules every download follows: the cached copy wins, ``CVVIZ_OFFLINE``/``CVVIZ_KIOSK`` never
    download, a mirror replaces the server, a hash in the file name is checked.
    """
    cached = cached_checkpoint_path(url)
    if cached is not None:
        return cached
    if downloads_disabled():
        raise WeightsError(
            _(
                "The weights for {name} are not cached and downloads are switched off; pre-fetch them with `python -m cvviz weights fetch {name}`."
            ).format(name=model)
        )
    url = mirrored_url(url)
    name = url.rsplit("/", 1)[1]
    match = _HASH_IN_NAME.search(name)
    return download_file(
        url, hub_checkpoint_dir() / name, progress=progress, sha256_prefix=match.group(1) if match else None
    )


@dataclass(frozen=True)
class CachedWeights:
    """One catalog model's checkpoint state in the local cache."""

    model: str
    filename: str
    cached: bool
    size_bytes: int | None
    path: Path | None


def list_cached_weights() -> list[CachedWeights]:
    """Every catalog model (task models too) that has pretrained weights, and whether (and how big) they
    are cached."""
    rows = []
    for spec in list_models(task=None):
        if spec.packaged_weights is not None:
            try:
                path: Path | None = Path(spec.packaged_weights.locate())
            except WeightsError:
                path = None
            rows.append(
                CachedWeights(spec.name, path.name if path else "", path is not None, _size(path), path)
            )
        elif published_url(spec) is not None:
            path = cached_weights_path(spec)
            rows.append(CachedWeights(spec.name, weights_filename(spec), path is not None, _size(path), path))
    return rows


def _size(path: Path | None) -> int | None:
    return path.stat().st_size if path is not None else None


# --- Loading state_dicts ----------------------------------------------------------------------------


def load_state_dict_file(source: str | os.PathLike | bytes | BinaryIO) -> dict[str, torch.Tensor]:
    """Read a state_dict with ``weights_only=True`` (never runs code), unwrapping common containers.

    Accepts a plain state_dict or a checkpoint dict holding one under ``state_dict``/``model``, and
    strips a ``module.`` prefix left by DataParallel.
    """
    label = "The weights file"
    if isinstance(source, bytes):
        if not source:
            raise WeightsError(_("The weights file is empty."))
        source = io.BytesIO(source)
    elif isinstance(source, (str, os.PathLike)):
        label = Path(source).name
        if not Path(source).is_file():
            raise WeightsError(_("No weights file at {source}.").format(source=source))
    try:
        loaded = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:
        text = str(exc)
        if "weights_only" in text or "Unsupported global" in text or "GLOBAL" in text:
            raise WeightsError(
                _(
                    "{label} is not a plain PyTorch state_dict: loading it would run code, so cvviz refuses it."
                ).format(label=label)
            ) from exc
        raise WeightsError(
            _("{label} is not a PyTorch weights file cvviz can read.").format(label=label)
        ) from exc
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(loaded, Mapping) and isinstance(loaded.get(key), Mapping):
            loaded = loaded[key]
            break
    if not isinstance(loaded, Mapping) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise WeightsError(
            _("{label} does not hold a state_dict (a mapping of names to tensors).").format(label=label)
        )
    return {key.removeprefix("module."): value for key, value in loaded.items()}


def read_lab_file(
    source: str | BinaryIO, kind: str, refusal: str, unmarked: str, error: type[CvvizError]
) -> tuple[dict, dict]:
    """The settings and state_dict of a model a lab saved (``{"kind", "config", "state_dict"}``), read
    with ``weights_only=True`` so that a file that would run code is refused.

    ``kind`` is the lab's mark; ``refusal`` (with a ``{reason}`` placeholder) and ``unmarked`` are the
    lab's sentences for a file torch cannot read and for one without its mark, raised as ``error``. The
    lab checks the settings and that the weights fit its model.
    """
    try:
        saved = torch.load(source, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise error(_("There is no file {path}.").format(path=source)) from exc
    except Exception as exc:
        raise error(
            refusal.format(reason=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        ) from exc
    if not isinstance(saved, dict) or saved.get("kind") != kind:
        raise error(unmarked)
    config, state_dict = saved.get("config"), saved.get("state_dict")
    if not isinstance(config, Mapping):
        raise error(_("The settings saved with that model are not valid."))
    if not isinstance(state_dict, dict):
        raise error(_("That file holds no weights."))
    return dict(config), state_dict


def _shape(tensor: torch.Tensor) -> str:
    return "×".join(str(size) for size in tensor.shape) or "scalar"


def fit_state_dict(model: nn.Module, state_dict: Mapping[str, torch.Tensor], model_title: str) -> None:
    """Load ``state_dict`` into ``model`` strictly, or raise one sentence saying what does not fit."""
    expected = model.state_dict()
    # Older checkpoints (many of torchvision's) predate BatchNorm's num_batches_tracked counter, which
    # inference never reads: keep the model's own.
    state_dict = dict(state_dict)
    for key in expected:
        if key.endswith("num_batches_tracked") and key not in state_dict:
            state_dict[key] = expected[key]
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    mismatched = [
        key for key in expected if key in state_dict and state_dict[key].shape != expected[key].shape
    ]
    problems = []
    if mismatched:
        key = mismatched[0]
        problems.append(
            f"{len(mismatched)} tensor shape(s) differ (e.g. {key}: file {_shape(state_dict[key])}, "
            f"model {_shape(expected[key])})"
        )
    if missing:
        problems.append(f"{len(missing)} key(s) missing (e.g. {missing[0]})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s) (e.g. {unexpected[0]})")
    if problems:
        raise WeightsMismatchError(f"These weights do not fit {model_title}: " + "; ".join(problems) + ".")
    model.load_state_dict(state_dict, strict=True)


# torchvision's DenseNet checkpoints predate the ban on '.' in module names ('norm.1' → 'norm1').
_DENSENET_OLD_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)
# Auxiliary classifiers exist only for training; the inference-time models are built without them.
_AUX_PREFIXES = ("aux1.", "aux2.", "AuxLogits.")


def adapt_published_state_dict(spec: ModelSpec, state_dict: Mapping[str, torch.Tensor]) -> dict:
    """A published checkpoint's state_dict in the layout of the spec's model: the family's renaming for
    an authors' file (:attr:`cvviz.catalog.schema.PublishedCheckpoint.adapt`), else torchvision's."""
    if spec.checkpoint is not None:
        return spec.checkpoint.adapt(dict(state_dict))
    return adapt_torchvision_state_dict(spec, state_dict)


def adapt_torchvision_state_dict(spec: ModelSpec, state_dict: Mapping[str, torch.Tensor]) -> dict:
    """Rename and drop keys the way torchvision's own builders do for their published checkpoints."""
    adapted = {}
    for key, value in state_dict.items():
        if key.startswith(_AUX_PREFIXES):
            continue
        match = _DENSENET_OLD_KEY.match(key)
        adapted[match.group(1) + match.group(2) if match else key] = value
    return adapted
