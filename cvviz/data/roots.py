"""Which folders of the server the app may read: only those under the roots the operator lists.

The operator opens folders with ``CVVIZ_DATA_ROOTS``, a list of folders separated by :data:`os.pathsep`
(``:`` on Linux and macOS). Every path is compared after resolving symbolic links and ``..``, so neither a
link inside a root nor ``root/../elsewhere`` leads out of it. With no root configured, no folder is open.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cvviz.errors import CvvizError
from cvviz.i18n import _

__all__ = ["DATA_ROOTS_ENV", "FolderNotAllowedError", "data_roots", "is_within", "resolve_in_roots"]

DATA_ROOTS_ENV = "CVVIZ_DATA_ROOTS"


class FolderNotAllowedError(CvvizError, PermissionError):
    """A server folder outside every configured data root (or no root configured at all)."""


def data_roots(value: str | None = None) -> tuple[Path, ...]:
    """The configured roots, resolved, in order, without duplicates; entries that are not existing folders
    are left out. ``value`` defaults to the ``CVVIZ_DATA_ROOTS`` environment variable."""
    text = os.environ.get(DATA_ROOTS_ENV, "") if value is None else value
    roots: list[Path] = []
    for entry in text.split(os.pathsep):
        if not entry.strip():
            continue
        root = Path(os.path.realpath(entry.strip()))
        if root.is_dir() and root not in roots:
            roots.append(root)
    return tuple(roots)


def is_within(path: str | os.PathLike[str], roots: Sequence[str | os.PathLike[str]]) -> bool:
    """Whether ``path``, with symbolic links and ``..`` resolved, is one of ``roots`` or lies under one."""
    real = Path(os.path.realpath(path))
    return any(real.is_relative_to(os.path.realpath(root)) for root in roots)


def resolve_in_roots(path: str | os.PathLike[str], roots: Sequence[str | os.PathLike[str]]) -> Path:
    """``path`` resolved (symbolic links and ``..``), provided it lies under one of ``roots``.

    A relative path is taken relative to each root in turn (the first where it exists, else the first it
    stays inside). Raises :class:`FolderNotAllowedError` otherwise, before anything about the path (whether
    it exists, what it holds) is revealed.
    """
    if not roots:
        raise FolderNotAllowedError(
            _(
                "No folder of this server is open to the app; the operator can list some in {DATA_ROOTS_ENV}."
            ).format(DATA_ROOTS_ENV=DATA_ROOTS_ENV)
        )
    text = os.fspath(path).strip()
    candidate = Path(text)
    candidates = [candidate] if candidate.is_absolute() else [Path(root) / candidate for root in roots]
    inside = [Path(os.path.realpath(c)) for c in candidates if text and is_within(c, roots)]
    if not inside:
        shown = ", ".join(str(root) for root in roots)
        raise FolderNotAllowedError(
            _("'{text}' is outside the folders this server shares ({shown}).").format(text=text, shown=shown)
        )
    return next((real for real in inside if real.exists()), inside[0])
