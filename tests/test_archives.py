"""Tests for cvviz.data.archives: an untrusted zip is unpacked only inside its own temporary folder, hostile or
oversized zips are refused with one sentence and leave nothing behind, and the folder goes when released."""

from __future__ import annotations

import gc
import io
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from cvviz.catalog import get_spec
from cvviz.data import archives
from cvviz.data.archives import ArchiveError, UnpackedArchive, unpack_zip
from cvviz.data.images import sample_images
from cvviz.measure.evaluation import scan_image_folder

SAMPLE = {sample.name: sample.path for sample in sample_images()}


def make_zip(entries, compression=zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of ``(name or ZipInfo, bytes)`` entries, written with the zipfile module."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def special(name: str, mode: int, data: bytes = b"") -> tuple[zipfile.ZipInfo, bytes]:
    """An entry whose Unix mode (type and permissions) is ``mode``, as `zip --symlinks` stores a link."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info, data


def declare_size(data: bytes, size: int) -> bytes:
    """``data`` with every entry's declared uncompressed size rewritten to ``size`` (local and central)."""
    out = bytearray(data)
    start = 0
    while (at := out.find(b"PK\x03\x04", start)) >= 0:
        out[at + 22 : at + 26] = struct.pack("<I", size)
        start = at + 4
    start = 0
    while (at := out.find(b"PK\x01\x02", start)) >= 0:
        out[at + 24 : at + 28] = struct.pack("<I", size)
        start = at + 4
    return bytes(out)


def declare_entries(data: bytes, count: int) -> bytes:
    """``data`` with its end record's entry counts rewritten to ``count``."""
    out = bytearray(data)
    at = out.rfind(b"PK\x05\x06")
    out[at + 8 : at + 12] = struct.pack("<HH", count, count)
    return bytes(out)


def everything_under(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


@pytest.fixture
def sandbox(tmp_path):
    """A parent for the temporary folders, and a sibling that must stay untouched."""
    (tmp_path / "parent").mkdir()
    (tmp_path / "outside").mkdir()
    return tmp_path


def refused(sandbox, data, match, **limits) -> ArchiveError:
    with pytest.raises(ArchiveError, match=match) as caught:
        unpack_zip(data, parent=sandbox / "parent", **limits)
    assert everything_under(sandbox) == {"parent", "outside"}  # nothing left anywhere, not even the folder
    message = str(caught.value)
    assert message.endswith(".") and message.count(". ") == 0 and "\n" not in message  # one sentence
    return caught.value


# --- What a good zip becomes -------------------------------------------------------------------------


def test_unpacks_an_imagefolder_zip_inside_its_own_private_folder(sandbox):
    data = make_zip([("tabby/a.png", b"cat"), ("tabby/b.png", b"cat2"), ("espresso/c.jpg", b"cup")])
    with unpack_zip(data, parent=sandbox / "parent") as unpacked:
        assert unpacked.folder.parent == sandbox / "parent"
        assert unpacked.folder.name.startswith("cvviz-zip-")
        assert stat.S_IMODE(unpacked.folder.stat().st_mode) == 0o700
        assert everything_under(unpacked.folder) == {
            "tabby",
            "tabby/a.png",
            "tabby/b.png",
            "espresso",
            "espresso/c.jpg",
        }
        assert (unpacked.folder / "tabby" / "b.png").read_bytes() == b"cat2"
        assert (unpacked.files, unpacked.size) == (3, 10)
        assert unpacked.root == unpacked.folder
        assert everything_under(sandbox / "outside") == set()
    assert unpacked.removed and not unpacked.folder.exists()
    assert everything_under(sandbox) == {"parent", "outside"}


def test_reads_bytes_a_path_or_an_open_file(sandbox):
    data = make_zip([("0/a.png", b"x")])
    (sandbox / "outside" / "in.zip").write_bytes(data)
    for source in (data, sandbox / "outside" / "in.zip", io.BytesIO(data)):
        with unpack_zip(source, parent=sandbox / "parent") as unpacked:
            assert (unpacked.folder / "0" / "a.png").read_bytes() == b"x"


def test_a_zip_of_a_folder_starts_inside_that_folder_but_a_one_class_zip_does_not(sandbox):
    wrapped = make_zip([("val/", b""), ("val/LOC_synset_mapping.txt", b"n1 a\n"), ("val/n1/a.png", b"x")])
    with unpack_zip(wrapped, parent=sandbox / "parent") as unpacked:
        assert unpacked.root == unpacked.folder / "val"
    twice = make_zip([("data/val/tabby/a.png", b"x"), ("data/.DS_Store", b"")])
    with unpack_zip(twice, parent=sandbox / "parent") as unpacked:
        assert unpacked.root == unpacked.folder / "data" / "val"
    one_class = make_zip([("tabby/a.png", b"x")])
    with unpack_zip(one_class, parent=sandbox / "parent") as unpacked:
        assert unpacked.root == unpacked.folder


def test_macos_metadata_is_checked_but_not_unpacked(sandbox):
    data = make_zip([("tabby/a.png", b"x"), ("__MACOSX/tabby/._a.png", b"meta"), ("tabby/._a.png", b"meta")])
    with unpack_zip(data, parent=sandbox / "parent") as unpacked:
        assert everything_under(unpacked.folder) == {"tabby", "tabby/a.png"}
        assert unpacked.files == 1
    refused(sandbox, make_zip([("tabby/a.png", b"x"), ("__MACOSX/../../evil", b"")]), "outside")


def test_the_folder_goes_when_the_archive_is_garbage_collected(sandbox):
    unpacked = unpack_zip(make_zip([("0/a.png", b"x")]), parent=sandbox / "parent")
    folder = unpacked.folder
    assert folder.is_dir()
    del unpacked
    gc.collect()
    assert not folder.exists()


def test_cleanup_twice_is_harmless(sandbox):
    unpacked = unpack_zip(make_zip([("0/a.png", b"x")]), parent=sandbox / "parent")
    unpacked.cleanup()
    unpacked.cleanup()
    assert unpacked.removed and "removed" in repr(unpacked)


@pytest.mark.parametrize(
    ("layout", "name_of"),
    [
        ("class names", lambda index, categories: categories[index]),
        ("class indices", lambda index, categories: str(index)),
        ("WordNet ids with a mapping file", lambda index, categories: f"n{9000000 + index:08d}"),
    ],
)
def test_every_layout_the_evaluation_accepts_reads_from_an_unpacked_zip(sandbox, layout, name_of):
    categories = get_spec("efficientnet_lite0").categories
    chosen = [(281, "cat"), (967, "coffee")]
    entries = [(f"val/{name_of(i, categories)}/{s}-{i}.png", SAMPLE[s].read_bytes()) for i, s in chosen]
    if layout.startswith("WordNet"):
        lines = [f"n{9000000 + i:08d} {category}" for i, category in enumerate(categories)]
        entries.append(("val/LOC_synset_mapping.txt", "\n".join(lines).encode()))
    with unpack_zip(make_zip(entries), parent=sandbox / "parent") as unpacked:
        dataset = scan_image_folder(unpacked.root, categories)
        assert dataset.layout == layout
        assert sorted(label for _, label in dataset.items) == [281, 967]
        assert all(Path(path).is_relative_to(unpacked.folder) for path, _ in dataset.items)


# --- Hostile names and entry types -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["../evil.txt", "tabby/../../evil.txt", "tabby/../../../outside/evil.txt", "..\\evil.txt", ".."]
)
def test_path_traversal_is_refused_and_nothing_is_written(sandbox, name):
    data = make_zip([("tabby/a.png", b"x"), (name, b"evil")])
    refused(sandbox, data, r"^The zip entry '.*' leads outside the zip's folder, so the zip was refused\.$")
    assert not (sandbox / "evil.txt").exists() and not (sandbox / "outside" / "evil.txt").exists()


@pytest.mark.parametrize(
    "name", ["/tmp/evil.txt", "C:\\evil.txt", "c:/evil.txt", "\\\\server\\share\\evil.txt"]
)
def test_absolute_paths_are_refused(sandbox, name):
    data = make_zip([("tabby/a.png", b"x"), (name, b"evil")])  # writestr keeps the name as given
    refused(sandbox, data, r"^The zip entry '.*' is an absolute path, so the zip was refused\.$")
    assert not Path("/tmp/evil.txt").exists()


def test_a_symbolic_link_entry_is_refused(sandbox):
    data = make_zip([("tabby/a.png", b"x"), special("tabby/link.png", stat.S_IFLNK | 0o777, b"/etc/passwd")])
    refused(sandbox, data, r"^The zip entry 'tabby/link\.png' is a symbolic link, so the zip was refused\.$")


@pytest.mark.parametrize("kind", [stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFSOCK])
def test_devices_pipes_and_sockets_are_refused(sandbox, kind):
    data = make_zip([("tabby/a.png", b"x"), special("tabby/node", kind | 0o644)])
    refused(sandbox, data, "is neither a file nor a folder")


def test_unix_permission_bits_are_not_applied(sandbox):
    data = make_zip([special("tabby/a.png", stat.S_IFREG | 0o4777, b"x")])
    with unpack_zip(data, parent=sandbox / "parent") as unpacked:
        mode = stat.S_IMODE((unpacked.folder / "tabby" / "a.png").stat().st_mode)
        assert not mode & (stat.S_ISUID | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def test_encrypted_and_bzip2_entries_are_refused(sandbox):
    data = bytearray(make_zip([("tabby/a.png", b"x")], zipfile.ZIP_STORED))
    at = data.find(b"PK\x01\x02")
    data[at + 8 : at + 10] = struct.pack("<H", 0x1)  # the central record's "encrypted" flag
    refused(sandbox, bytes(data), "is encrypted")
    refused(sandbox, make_zip([("tabby/a.png", b"x" * 1000)], zipfile.ZIP_BZIP2), "compressed with a method")


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_name_twice_or_as_file_and_folder_is_refused(sandbox):
    refused(sandbox, make_zip([("tabby/a.png", b"x"), ("tabby/a.png", b"y")]), "twice")
    refused(sandbox, make_zip([("tabby", b"x"), ("tabby/a.png", b"y")]), "twice")


def test_not_a_zip_empty_or_corrupt(sandbox):
    refused(sandbox, b"this is not a zip", r"^The file is not a zip archive cvviz can read\.$")
    refused(sandbox, make_zip([("tabby/", b"")]), r"^The zip holds no files\.$")
    data = bytearray(make_zip([("tabby/a.png", b"x" * 5000)]))
    data[40:60] = b"\xff" * 20  # the compressed stream
    refused(sandbox, bytes(data), "truncated or corrupt")


# --- Limits --------------------------------------------------------------------------------------------


def test_more_than_5000_files_is_refused_before_anything_is_written(sandbox):
    data = make_zip([(f"{i % 10}/{i}.png", b"x") for i in range(5001)], zipfile.ZIP_STORED)
    refused(sandbox, data, r"^The zip holds more files than the 5,000 accepted\.$")
    small = make_zip([(f"{i}/a.png", b"x") for i in range(3)] + [("__MACOSX/._a.png", b""), ("0/", b"")])
    with unpack_zip(small, parent=sandbox / "parent", max_files=3) as unpacked:  # the limit itself is fine
        assert unpacked.files == 3
    refused(sandbox, small, r"^The zip holds more files than the 2 accepted\.$", max_files=2)


def test_too_many_entries_of_any_kind_is_refused_even_when_the_end_record_lies(sandbox):
    folders = make_zip([(f"d{i}/", b"") for i in range(31)] + [("d0/a.png", b"x")])
    refused(
        sandbox,
        folders,
        r"^The zip lists more entries \(files, folders and metadata\) than the 30 accepted\.$",
        max_files=10,
    )
    refused(sandbox, declare_entries(folders, 3), "more entries", max_files=10)  # found by counting


def test_a_table_of_contents_too_large_for_its_entries_is_refused_before_it_is_read(sandbox, monkeypatch):
    data = make_zip([("x" * 900 + "/a.png", b"x"), ("y" * 900 + "/b.png", b"y")])
    monkeypatch.setattr(zipfile, "ZipFile", None)  # must not even be reached
    refused(sandbox, data, "more entries", max_files=1)


def test_more_than_500_mb_declared_is_refused_without_unpacking(sandbox):
    data = declare_size(make_zip([("tabby/a.png", b"x")], zipfile.ZIP_STORED), 501_000_000)
    refused(sandbox, data, r"^The zip unpacks to 501 MB, more than the 500 MB accepted\.$")


def test_a_highly_compressible_stream_past_the_limit_is_refused(sandbox):
    limit = 1_000_000  # the same checks as at 500 MB, with a stream small enough for a test
    stream = make_zip([("tabby/a.png", b"x"), ("tabby/bomb.png", bytes(limit))])
    assert len(stream) < limit // 100
    refused(
        sandbox,
        stream,
        r"^The zip unpacks to 1,000,001 bytes, more than the 1,000,000 bytes accepted\.$",
        max_bytes=limit,
    )
    with unpack_zip(stream, parent=sandbox / "parent", max_bytes=limit + 1) as unpacked:
        assert unpacked.size == limit + 1


def test_an_entry_whose_declared_size_lies_is_refused(sandbox):
    limit = 1_000_000
    data = declare_size(make_zip([("tabby/bomb.png", bytes(2 * limit))]), 100)
    refused(sandbox, data, "truncated or corrupt", max_bytes=limit)


def test_the_limit_holds_while_writing_whatever_the_decompressor_returns(sandbox, monkeypatch):
    """A decompressor that trusted the stream over the declared size (as some do) is still stopped at the
    limit, and no byte past it reaches the disk."""
    limit = 10_000
    data = make_zip([("tabby/a.png", b"x"), ("tabby/bomb.png", b"y")])  # each declares one byte
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, info, *a, **k: io.BytesIO(bytes(7_000)))
    written = []
    real_open = open

    class Counting:
        def __init__(self, *args, **kwargs):
            self.file = real_open(*args, **kwargs)

        def write(self, chunk):
            written.append(len(chunk))
            return self.file.write(chunk)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

    monkeypatch.setattr(archives, "open", Counting, raising=False)
    refused(
        sandbox,
        data,
        r"^The zip unpacks to more than its entries declare, past the 10,000 bytes accepted\.$",
        max_bytes=limit,
    )
    assert sum(written) == 7_000  # the first entry whole; of the second, not one byte past the limit


def test_limits_must_be_positive():
    with pytest.raises(ValueError):
        unpack_zip(b"", max_files=0)
    with pytest.raises(ValueError):
        unpack_zip(b"", max_bytes=0)


def test_unpacked_archive_is_the_public_type():
    assert issubclass(ArchiveError, ValueError)
    assert UnpackedArchive.__module__ == "cvviz.data.archives"
