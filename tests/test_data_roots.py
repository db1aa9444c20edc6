"""Tests for cvviz.data.roots: server folders are read only under the roots the operator configures, after
resolving symbolic links and ``..``."""

from __future__ import annotations

import os

import pytest

from cvviz.catalog import get_spec
from cvviz.data.images import sample_images
from cvviz.data.roots import FolderNotAllowedError, data_roots, is_within, resolve_in_roots
from cvviz.measure.evaluation import scan_image_folder

SAMPLE = {sample.name: sample.path for sample in sample_images()}


@pytest.fixture
def tree(tmp_path):
    """``shared/`` (a root) and ``private/`` beside it, with links from the first into the second."""
    (tmp_path / "shared" / "val").mkdir(parents=True)
    (tmp_path / "private" / "secrets").mkdir(parents=True)
    (tmp_path / "shared" / "escape").symlink_to(tmp_path / "private")
    (tmp_path / "shared" / "inner").symlink_to(tmp_path / "shared" / "val")
    return tmp_path


def test_data_roots_reads_the_environment_resolved_and_without_missing_folders(tree, monkeypatch):
    monkeypatch.setenv(
        "CVVIZ_DATA_ROOTS",
        os.pathsep.join([str(tree / "shared"), "", str(tree / "missing"), str(tree / "shared" / "inner")]),
    )
    assert data_roots() == (tree / "shared", tree / "shared" / "val")
    monkeypatch.delenv("CVVIZ_DATA_ROOTS")
    assert data_roots() == ()
    assert data_roots(f"{tree / 'private'}{os.pathsep}{tree / 'private'}") == (tree / "private",)


def test_a_folder_under_a_root_is_resolved(tree):
    roots = data_roots(str(tree / "shared"))
    assert resolve_in_roots(tree / "shared" / "val", roots) == tree / "shared" / "val"
    assert resolve_in_roots(f"  {tree / 'shared' / 'inner'}  ", roots) == tree / "shared" / "val"
    assert resolve_in_roots("val", roots) == tree / "shared" / "val"  # relative to the root
    assert resolve_in_roots(tree / "shared", roots) == tree / "shared"
    assert resolve_in_roots(tree / "shared" / "not-yet", roots) == tree / "shared" / "not-yet"


@pytest.mark.parametrize(
    "path",
    ["{tree}/private", "{tree}/shared/../private", "{tree}/shared/escape", "{tree}/shared/escape/secrets",
     "../private", "escape", "/", "{tree}/shared-lookalike"],
)  # fmt: skip
def test_a_path_outside_every_root_is_refused_in_one_sentence(tree, path):
    roots = data_roots(str(tree / "shared"))
    typed = path.format(tree=tree)
    with pytest.raises(FolderNotAllowedError) as caught:
        resolve_in_roots(typed, roots)
    assert str(caught.value) == f"'{typed}' is outside the folders this server shares ({tree / 'shared'})."


def test_no_root_configured_opens_no_folder(tree):
    with pytest.raises(
        FolderNotAllowedError, match=r"^No folder of this server is open .*CVVIZ_DATA_ROOTS\.$"
    ):
        resolve_in_roots(tree / "shared", ())


def test_is_within_resolves_links(tree):
    assert is_within(tree / "shared" / "inner", [tree / "shared"])
    assert not is_within(tree / "shared" / "escape" / "secrets", [tree / "shared"])
    assert is_within(tree / "shared" / "escape" / "secrets", [tree / "shared", tree / "private"])


def test_scanning_within_roots_leaves_out_links_that_lead_out(tree):
    categories = get_spec("efficientnet_lite0").categories
    shared = tree / "shared" / "val"
    (shared / "281").mkdir()
    (shared / "281" / "cat.png").write_bytes(SAMPLE["cat"].read_bytes())
    (tree / "private" / "967").mkdir()
    (tree / "private" / "967" / "coffee.png").write_bytes(SAMPLE["coffee"].read_bytes())
    (tree / "private" / "282.png").write_bytes(SAMPLE["cat"].read_bytes())
    (shared / "967").symlink_to(tree / "private" / "967")  # a class folder leading out
    (shared / "281" / "stolen.png").symlink_to(tree / "private" / "282.png")  # an image leading out
    (shared / "LOC_synset_mapping.txt").symlink_to(tree / "private" / "282.png")  # so is the mapping file
    roots = data_roots(str(tree / "shared"))
    dataset = scan_image_folder(shared, categories, within=roots)
    assert [os.path.basename(path) for path, _ in dataset.items] == ["cat.png"]
    assert dataset.layout == "class indices"
    assert len(scan_image_folder(shared, categories).items) == 3  # without roots, links are followed
    with pytest.raises(FolderNotAllowedError):
        scan_image_folder(tree / "private", categories, within=roots)
