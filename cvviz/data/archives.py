"""Unpack an untrusted zip into a private temporary folder, within limits.

A zip comes from anywhere, so :func:`unpack_zip` checks every entry before it writes anything and refuses the
whole archive, with one sentence, for:

* a name that is absolute (``/etc/passwd``, ``C:\\x``) or climbs out with ``..``;
* a symbolic link or any other entry that is neither a regular file nor a folder (device, pipe, socket);
* an encrypted entry, or one compressed other than *stored* or *deflate* (what zip tools write by default;
  bzip2 and LZMA are refused because Python decompresses their blocks without an output bound);
* more than ``max_files`` files, or more than ``3 × max_files`` entries of any kind (so empty folders or
  metadata cannot exhaust memory or the disk's inodes), checked against the zip's end record before its
  table of contents is even read;
* more than ``max_bytes`` once unpacked: first from the sizes the zip declares, then again while writing,
  counting the bytes actually produced, so an archive whose declared sizes lie is still stopped before the
  limit is passed.

Everything is written into a fresh folder made by :func:`tempfile.mkdtemp` (readable only by this user);
nothing is written anywhere else, and on any refusal that folder is removed before the error is raised.
macOS metadata (``__MACOSX/``, ``._name``) is checked like everything else but not unpacked. The zip's own
permission bits are ignored: every file is written as a plain, non-executable file.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import struct
import tempfile
import weakref
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cvviz.errors import CvvizError
from cvviz.i18n import _

__all__ = [
    "ENTRIES_PER_FILE",
    "MAX_BYTES",
    "MAX_FILES",
    "ArchiveError",
    "UnpackedArchive",
    "unpack_zip",
]

MAX_FILES = 5_000
"""Most files a zip may hold (folders and macOS metadata not counted)."""

MAX_BYTES = 500_000_000
"""Most bytes a zip may unpack to (500 MB)."""

ENTRIES_PER_FILE = 3
"""A zip may list at most this many entries of any kind (files, folders, metadata) per file allowed."""

_CHUNK = 1 << 20
_TOC_BYTES_PER_ENTRY = 512  # a generous average for one table-of-contents record (46 bytes + name + extras)
_END_RECORD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_END_RECORD = b"PK\x06\x06"
_UNPACKED_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")
_NOT_A_ZIP = "The file is not a zip archive cvviz can read."


class ArchiveError(CvvizError, ValueError):
    """A zip that cvviz refuses to unpack (hostile, too large, corrupt, or not a zip)."""


class UnpackedArchive:
    """A zip unpacked into its own temporary ``folder``.

    The folder is removed by :meth:`cleanup`, at the end of a ``with`` block, when this object is garbage
    collected, or at the latest when the interpreter exits normally (:func:`weakref.finalize`).
    """

    def __init__(self, folder: Path, files: int, size: int) -> None:
        self.folder = folder
        self.files = files
        """Files unpacked (macOS metadata left out)."""
        self.size = size
        """Bytes unpacked."""
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(folder), ignore_errors=True)

    @property
    def root(self) -> Path:
        """Where the content starts: ``folder``, or the one folder inside it when the zip was made from a
        folder (``val/tabby/1.jpg``): while a folder holds nothing but one sub-folder, which itself holds
        folders, that sub-folder is used. Hidden entries (``.DS_Store``) are ignored."""
        root = self.folder
        while True:
            entries = [child for child in root.iterdir() if not child.name.startswith(".")]
            if len(entries) != 1 or not entries[0].is_dir():
                return root
            if not any(grandchild.is_dir() for grandchild in entries[0].iterdir()):
                return root
            root = entries[0]

    @property
    def removed(self) -> bool:
        """Whether the folder has been removed."""
        return not self._finalizer.alive

    def cleanup(self) -> None:
        """Remove the folder and everything in it (again is harmless)."""
        self._finalizer()

    def __enter__(self) -> UnpackedArchive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        state = "removed" if self.removed else f"{self.files} files, {self.size} bytes"
        return f"UnpackedArchive({str(self.folder)!r}, {state})"


@dataclass(frozen=True)
class _Entry:
    info: zipfile.ZipInfo
    parts: tuple[str, ...]
    is_dir: bool


def unpack_zip(
    source: bytes | str | os.PathLike[str] | BinaryIO,
    *,
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_BYTES,
    parent: str | os.PathLike[str] | None = None,
) -> UnpackedArchive:
    """Unpack the zip ``source`` (its bytes, a path, or a readable, seekable binary file) into a new private
    temporary folder under ``parent`` (the system's temporary folder by default).

    Raises :class:`ArchiveError` with one user-facing sentence when the zip is refused (see the module
    docstring); nothing is left on disk then. The caller owns the returned :class:`UnpackedArchive` and
    should :meth:`~UnpackedArchive.cleanup` it when done.
    """
    if max_files < 1 or max_bytes < 1:
        raise ValueError(_("max_files and max_bytes must be positive"))
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _unpack(io.BytesIO(bytes(source)), max_files, max_bytes, parent)
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source, "rb") as stream:
                return _unpack(stream, max_files, max_bytes, parent)
        except OSError as exc:
            raise ArchiveError(
                _("The zip '{path}' cannot be opened.").format(path=os.fspath(source))
            ) from exc
    source.seek(0)
    return _unpack(source, max_files, max_bytes, parent)


def _unpack(stream: BinaryIO, max_files: int, max_bytes: int, parent) -> UnpackedArchive:
    max_entries = ENTRIES_PER_FILE * max_files
    _check_end_record(stream, max_entries)
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error) as exc:
        raise ArchiveError(_NOT_A_ZIP) from exc
    with archive:
        entries = _plan(archive.infolist(), max_files, max_bytes, max_entries)
        folder = Path(tempfile.mkdtemp(prefix="cvviz-zip-", dir=parent))
        unpacked = UnpackedArchive(folder, 0, 0)
        try:
            unpacked.files, unpacked.size = _extract(archive, entries, folder, max_bytes)
        except BaseException:
            unpacked.cleanup()
            raise
    return unpacked


def _check_end_record(stream: BinaryIO, max_entries: int) -> None:
    """Refuse a zip whose end record lists too many entries, or a table of contents too large for them,
    before :mod:`zipfile` reads that table into memory."""
    try:
        size = stream.seek(0, io.SEEK_END)
        tail_size = min(size, 22 + 0xFFFF)
        stream.seek(size - tail_size)
        tail = stream.read(tail_size)
    except (OSError, ValueError) as exc:
        raise ArchiveError(_NOT_A_ZIP) from exc
    at = tail.rfind(_END_RECORD)
    if at < 0 or len(tail) - at < 22:
        raise ArchiveError(_NOT_A_ZIP)
    entries, toc_bytes = struct.unpack("<HI", tail[at + 10 : at + 16])
    if at >= 20 and tail[at - 20 : at - 16] == _ZIP64_LOCATOR:
        (offset,) = struct.unpack("<Q", tail[at - 12 : at - 4])
        try:
            stream.seek(offset)
            record = stream.read(56)
        except (OSError, ValueError, OverflowError) as exc:
            raise ArchiveError(_NOT_A_ZIP) from exc
        if len(record) == 56 and record[:4] == _ZIP64_END_RECORD:
            entries, toc_bytes = struct.unpack("<QQ", record[32:48])
    if entries > max_entries or toc_bytes > max_entries * _TOC_BYTES_PER_ENTRY:
        raise ArchiveError(_too_many_entries(max_entries))
    stream.seek(0)


def _too_many_entries(max_entries: int) -> str:
    return f"The zip lists more entries (files, folders and metadata) than the {max_entries:,} accepted."


def _shown(name: str) -> str:
    """An entry name fit for a one-line message: control characters escaped, long names shortened."""
    text = name.encode("unicode_escape").decode("ascii") if not name.isprintable() else name
    return text if len(text) <= 80 else text[:77] + "..."


def _plan(infos: list[zipfile.ZipInfo], max_files: int, max_bytes: int, max_entries: int) -> list[_Entry]:
    """Check every entry; return those to unpack, in order. Writes nothing."""
    if len(infos) > max_entries:
        raise ArchiveError(_too_many_entries(max_entries))
    plan, files, declared = [], 0, 0
    for info in infos:
        name = info.filename
        shown = _shown(name)
        path = name.replace("\\", "/")
        if path.startswith("/") or _WINDOWS_DRIVE.match(path):
            raise ArchiveError(
                _("The zip entry '{shown}' is an absolute path, so the zip was refused.").format(shown=shown)
            )
        parts = tuple(part for part in path.split("/") if part not in ("", "."))
        if ".." in parts:
            raise ArchiveError(
                _("The zip entry '{shown}' leads outside the zip's folder, so the zip was refused.").format(
                    shown=shown
                )
            )
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind == stat.S_IFLNK:
            raise ArchiveError(
                _("The zip entry '{shown}' is a symbolic link, so the zip was refused.").format(shown=shown)
            )
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise ArchiveError(
                _(
                    "The zip entry '{shown}' is neither a file nor a folder (a device, pipe or socket), so the zip was refused."
                ).format(shown=shown)
            )
        is_dir = info.is_dir() or kind == stat.S_IFDIR
        if not is_dir and info.flag_bits & 0x1:
            raise ArchiveError(
                _("The zip entry '{shown}' is encrypted, which cvviz cannot unpack.").format(shown=shown)
            )
        if not is_dir and info.compress_type not in _UNPACKED_METHODS:
            raise ArchiveError(
                _(
                    "The zip entry '{shown}' is compressed with a method cvviz does not unpack (only 'stored' and 'deflate', what zip tools write by default)."
                ).format(shown=shown)
            )
        if not parts or parts[0] == "__MACOSX" or parts[-1].startswith("._"):
            continue  # the zip's own folder, or macOS metadata: checked above, not unpacked
        if not is_dir:
            files += 1
            declared += info.file_size
            if files > max_files:
                raise ArchiveError(
                    _("The zip holds more files than the {max_files:,} accepted.").format(max_files=max_files)
                )
        plan.append(_Entry(info, parts, is_dir))
    if declared > max_bytes:
        raise ArchiveError(_too_large(max_bytes, declared))
    if files == 0:
        raise ArchiveError(_("The zip holds no files."))
    return plan


def _size(count: int) -> str:
    return f"{count / 1e6:,.0f} MB" if count >= 10_000_000 else f"{count:,} bytes"


def _too_large(max_bytes: int, declared: int | None = None) -> str:
    if declared is None:
        return f"The zip unpacks to more than its entries declare, past the {_size(max_bytes)} accepted."
    return f"The zip unpacks to {_size(declared)}, more than the {_size(max_bytes)} accepted."


def _extract(
    archive: zipfile.ZipFile, entries: list[_Entry], folder: Path, max_bytes: int
) -> tuple[int, int]:
    files = written = 0
    for entry in entries:
        target = folder.joinpath(*entry.parts)
        # Checked above already; this guards the guarantee itself against any name the checks missed.
        if not Path(os.path.abspath(target)).is_relative_to(folder):
            raise ArchiveError(
                _("The zip entry '{entry}' leads outside the zip's folder.").format(
                    entry=_shown(entry.info.filename)
                )
            )
        try:
            if entry.is_dir:
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(entry.info) as source, open(target, "xb") as out:
                # Read at most one byte past the allowance, so a lying entry is caught without writing it.
                while chunk := source.read(min(_CHUNK, max_bytes - written + 1)):
                    if written + len(chunk) > max_bytes:
                        raise ArchiveError(_too_large(max_bytes))
                    written += len(chunk)
                    out.write(chunk)
            files += 1
        except ArchiveError:
            raise
        except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
            raise ArchiveError(
                _("The zip holds '{entry}' twice, or as both a file and a folder, so it was refused.").format(
                    entry=_shown(entry.info.filename)
                )
            ) from exc
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, struct.error) as exc:
            raise ArchiveError(
                _("The zip is truncated or corrupt (its entry '{entry}' does not unpack).").format(
                    entry=_shown(entry.info.filename)
                )
            ) from exc
        except OSError as exc:
            raise ArchiveError(
                _("The zip entry '{entry}' could not be written here ({reason}).").format(
                    entry=_shown(entry.info.filename), reason=exc.strerror or exc
                )
            ) from exc
        except (NotImplementedError, RuntimeError) as exc:
            raise ArchiveError(
                _("The zip entry '{entry}' cannot be unpacked.").format(entry=_shown(entry.info.filename))
            ) from exc
    return files, written
