"""Errors raised at the library's public boundary.

Every error carries one clear sentence as its message: the app shows it in a box and the CLI prints it
after ``error:``. Nothing else about the failure (no traceback) is meant for the user.
"""

from __future__ import annotations


class CvvizError(Exception):
    """Base class: ``str(err)`` is a complete sentence fit to show a user."""


class UnknownModelError(CvvizError, ValueError):
    """A model name that is not in the catalog."""


class ImageError(CvvizError, ValueError):
    """Bytes that cvviz refuses to decode as an image (corrupt, hostile, too large, wrong type)."""


class WeightsError(CvvizError):
    """Weights that cannot be had: not cached and not downloadable, or a failed integrity check."""


class WeightsMismatchError(WeightsError, ValueError):
    """A user-supplied state_dict that does not fit the chosen model (keys or shapes differ)."""


class DeviceError(CvvizError, RuntimeError):
    """The chosen device cannot run the work (e.g. the GPU ran out of memory)."""
