"""Uploaded zips, unpacked into one private temporary folder per browser session.

The unpacked copy lives in a session-scoped ``st.cache_resource`` holding one entry, whose release removes
the folder. Streamlit releases it when the session disconnects (the tab closes, or its connection drops:
the next run of a session that reconnects unpacks the upload again) and when a new entry replaces it (a new
zip). Taking the upload away, or a refused zip, clears it too. Should a release be missed, the folder goes
when its :class:`~cvviz.data.archives.UnpackedArchive` is garbage collected or, at the latest, when the
server exits normally.
"""

from __future__ import annotations

from typing import BinaryIO

import streamlit as st

from cvviz.data.archives import ArchiveError, UnpackedArchive, unpack_zip
from cvviz.errors import CvvizError
from cvviz.i18n import _


@st.cache_resource(
    scope="session", max_entries=1, on_release=UnpackedArchive.cleanup, show_spinner=_("Unpacking the zip…")
)
def _unpacked(upload_id: str, _upload: BinaryIO) -> UnpackedArchive:
    return unpack_zip(_upload)


def discard_unpacked() -> None:
    """Remove this session's unpacked zip, if any (when the page stops offering the upload)."""
    _unpacked.clear()


def unpacked_zip(upload, refused_key: str) -> UnpackedArchive | None:
    """This session's unpacked copy of ``upload`` (a ``st.file_uploader`` value), or None without one.

    Raises :class:`~cvviz.data.archives.ArchiveError` (one sentence) for a refused zip; the refusal is kept
    under ``refused_key`` in the session state so the same upload is not unpacked again on every rerun.
    """
    if upload is None:
        discard_unpacked()
        return None
    refused = st.session_state.get(refused_key)
    if refused is not None and refused[0] == upload.file_id:
        raise ArchiveError(refused[1])
    try:
        return _unpacked(upload.file_id, upload)
    except CvvizError as exc:
        st.session_state[refused_key] = (upload.file_id, str(exc))
        discard_unpacked()
        raise
