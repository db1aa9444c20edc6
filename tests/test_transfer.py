"""The transfer-learning lab: features cached once per image and equal to a fresh pass, heads that learn
separable classes and stay at chance on shuffled labels, fine-tuning that never touches the shared model,
heads that export and load back, and untrusted zips refused without writing outside their folder."""

from __future__ import annotations

import dataclasses
import io
import json
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from cvviz.catalog import get_spec
from cvviz.catalog.schema import Preprocessing
from cvviz.cli import main
from cvviz.data.archives import ArchiveError
from cvviz.models.inference import preprocess
from cvviz.models.loading import WeightsInfo
from cvviz.models.workbench import LoadedModel, ResultCache, model_nbytes
from cvviz.transfer import (
    FinetuneSettings,
    TransferDataError,
    bundled_shapes,
    check_minimum,
    classifier_layer,
    cross_validate_head,
    export_head,
    finetune,
    from_class_images,
    from_zip,
    load_head,
    pooled_features,
    predict_with_head,
    run_transfer,
)

CLASSES = 10
PAGE = Path(__file__).resolve().parent.parent / "app_pages" / "transfer.py"


def _tiny() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, CLASSES),
    ).eval()  # fmt: skip


@pytest.fixture(scope="module")
def tiny() -> LoadedModel:
    """A catalog-shaped tiny CNN (32×32 inputs, stages "0" and "3") shared like a workbench model."""
    torch.manual_seed(0)
    model = _tiny().requires_grad_(False)
    return LoadedModel(
        _tiny_spec(),
        model,
        WeightsInfo("random", "tiny", "random:tiny"),
        torch.device("cpu"),
        model_nbytes(model),
    )


def _png(colour: tuple[int, int, int], seed: int) -> bytes:
    noise = np.random.default_rng(seed).integers(-40, 40, (24, 24, 3))
    pixels = np.clip(np.asarray(colour) + noise, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def reds_and_blues():
    """Two visibly different classes: noisy red squares and noisy blue ones, 20 of each."""
    return from_class_images(
        {
            "red": [_png((200, 30, 30), seed) for seed in range(20)],
            "blue": [_png((30, 30, 200), seed) for seed in range(20, 40)],
        }
    )


def _counting(model: nn.Module) -> list[int]:
    """Images seen by ``model``'s forward passes, recorded by a hook left on the test's own model."""
    seen: list[int] = []
    model.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].shape[0]))
    return seen


def test_features_are_extracted_once_per_image_and_equal_a_fresh_forward_pass(reds_and_blues):
    torch.manual_seed(1)
    model = _tiny().requires_grad_(False)
    loaded = LoadedModel(
        dataclasses.replace(_tiny_spec(), name="counted"), model, WeightsInfo("random", "t", "random:counted"),
        torch.device("cpu"), 0,
    )  # fmt: skip
    seen = _counting(model)
    cache = ResultCache()
    first = pooled_features(loaded, reds_and_blues.images, cache=cache, batch_size=16)
    assert sum(seen) == len(reds_and_blues) and first.computed == len(reds_and_blues)
    again = pooled_features(loaded, reds_and_blues.images, cache=cache)
    assert sum(seen) == len(reds_and_blues) and again.computed == 0
    assert first.seconds_per_image > 0 and again.seconds_per_image == first.seconds_per_image
    np.testing.assert_array_equal(again.features, first.features)
    one_more = pooled_features(
        loaded, [*reds_and_blues.images, Image.new("RGB", (30, 30), "green")], cache=cache
    )
    assert sum(seen) == len(reds_and_blues) + 1 and one_more.computed == 1
    # The classifier's input, computed without the cache or the hook machinery.
    assert classifier_layer(model, loaded.spec) == "6"
    batch = torch.cat([preprocess(image, loaded.spec) for image in reds_and_blues.images[:5]])
    with torch.no_grad():
        fresh = model[:6](batch)
    torch.testing.assert_close(torch.as_tensor(first.features[:5]), fresh)


def _tiny_spec():
    return dataclasses.replace(
        get_spec("resnet18"), name="tiny_cnn", title="Tiny CNN", builder=_tiny,
        preprocessing=Preprocessing(32, 32), stages=("0", "3"),
        categories=tuple(f"c{i}" for i in range(CLASSES)), torchvision_weights=None, packaged_weights=None,
    )  # fmt: skip


def test_a_linear_probe_separates_visibly_different_classes_and_stays_at_chance_on_shuffled_labels(
    tiny, reds_and_blues
):
    features = pooled_features(tiny, reds_and_blues.images).features
    labels = reds_and_blues.labels
    result = cross_validate_head(features, labels, reds_and_blues.classes, "probe", folds=5)
    assert result.acc_mean >= 0.95
    assert (result.predicted >= 0).all()  # every image was held out by exactly one fold
    assert result.confusion.sum() == len(labels) and result.as_dict()["per_class"]["red"] >= 0.9
    shuffled = [
        cross_validate_head(features, np.random.default_rng(s).permutation(labels), ("a", "b"), "probe", 5, s)
        for s in range(4)
    ]
    assert 0.25 <= np.mean([r.acc_mean for r in shuffled]) <= 0.72


def test_an_mlp_head_separates_visibly_different_classes(tiny, reds_and_blues):
    features = pooled_features(tiny, reds_and_blues.images).features
    result = cross_validate_head(features, reds_and_blues.labels, reds_and_blues.classes, "mlp", folds=2)
    assert result.acc_mean >= 0.95 and result.head.hidden > 0


def test_fine_tuning_changes_a_private_copy_never_the_shared_model(tiny, reds_and_blues):
    with tiny.exclusive() as model:
        before = {k: v.clone() for k, v in model.state_dict().items()}
    features = pooled_features(tiny, reds_and_blues.images).features
    settings = FinetuneSettings(stages=1, epochs=1, lr=1e-2, head_lr=1e-2, batch_size=20, folds=2)
    result = finetune(tiny, reds_and_blues, features, settings)
    with tiny.exclusive() as model:
        after = model.state_dict()
        assert all(not p.requires_grad for p in model.parameters())
    for key, value in before.items():
        torch.testing.assert_close(after[key], value, rtol=0, atol=0)
    tuned = result.head.backbone.state_dict()
    assert not torch.equal(tuned["2.weight"], before["2.weight"])  # the last stage learned
    torch.testing.assert_close(tuned["0.weight"], before["0.weight"], rtol=0, atol=0)  # the first did not
    assert result.acc_mean >= 0.9


def test_a_fine_tune_of_zero_steps_reproduces_the_probe_features(tiny, reds_and_blues):
    features = pooled_features(tiny, reds_and_blues.images).features
    result = finetune(tiny, reds_and_blues, features, FinetuneSettings(epochs=0, folds=2))
    np.testing.assert_allclose(result.extra["features_after"], features, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["probe", "finetune"])
def test_an_exported_head_loads_back_and_reads_images_the_same(tiny, reds_and_blues, mode):
    settings = FinetuneSettings(epochs=1, folds=2, batch_size=20)
    run = run_transfer(tiny, reds_and_blues, mode, folds=2, settings=settings)
    state, meta = export_head(run.result, run.features.dim)
    assert meta["classes"] == ["red", "blue"] and meta["model"] == "tiny_cnn"
    loaded_back = load_head(state, meta, tiny)
    image = reds_and_blues.images[3]
    np.testing.assert_allclose(
        predict_with_head(tiny, loaded_back, image),
        predict_with_head(tiny, run.result.head, image),
        atol=1e-6,
    )
    with pytest.raises(Exception, match="not one cvviz wrote"):
        load_head(state, {**meta, "format": "other"}, tiny)


def test_two_classes_of_two_images_are_the_minimum_and_it_is_said_plainly():
    red, blue = _png((200, 0, 0), 0), _png((0, 0, 200), 1)
    check_minimum(from_class_images({"red": [red, red], "blue": [blue, blue]}))
    with pytest.raises(TransferDataError, match="at least 2 classes with at least 2 images each"):
        check_minimum(from_class_images({"red": [red, red]}))
    with pytest.raises(TransferDataError, match=r"too few in 'blue' \(1\)"):
        check_minimum(from_class_images({"red": [red, red], "blue": [blue]}))
    unreadable = from_class_images({"red": [red, red, b"not an image"], "blue": [blue, blue]})
    assert len(unreadable) == 4 and "left out" in unreadable.notes[0]


def test_the_bundled_shapes_are_the_same_every_time_and_enough_to_learn():
    first, again = bundled_shapes(per_class=3), bundled_shapes(per_class=3)
    check_minimum(first)
    assert (
        first.classes == ("circle", "square", "triangle", "star") and first.fingerprint == again.fingerprint
    )
    assert "drawn by cvviz" in first.description


def _zip(entries) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def _link(name: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, b"/etc/passwd"


def test_a_zip_of_class_folders_is_read_and_its_folder_removed(tmp_path):
    parent = tmp_path / "session"
    parent.mkdir()
    red, blue = _png((200, 0, 0), 0), _png((0, 0, 200), 1)
    data = from_zip(
        _zip([("set/red/1.png", red), ("set/red/2.png", red), ("set/blue/1.png", blue),
              ("set/blue/2.png", blue), ("set/blue/notes.txt", b"x")]),
        parent=parent,
    )  # fmt: skip
    assert data.classes == ("blue", "red") and data.counts == {"blue": 2, "red": 2}
    assert "blue/notes.txt" in data.notes[0] and not any(parent.iterdir())


@pytest.mark.parametrize(
    ("entries", "limits", "said"),
    [
        ([("../evil.png", b"x"), ("a/1.png", b"x")], {}, "leads outside"),
        ([("/abs/evil.png", b"x")], {}, "absolute path"),
        ([_link("a/link.png"), ("a/1.png", b"x")], {}, "symbolic link"),
        ([(f"a/{i}.png", b"x") for i in range(6)], {"max_files": 5}, "more files than the 5 accepted"),
        ([("a/bomb.png", b"\0" * 200_000)], {"max_bytes": 100_000}, "unpacks to"),
    ],
    ids=["traversal", "absolute", "link", "too-many-files", "bomb"],
)
def test_hostile_zips_are_refused_with_one_sentence_and_write_nothing(tmp_path, entries, limits, said):
    parent = tmp_path / "session"
    parent.mkdir()
    with pytest.raises(ArchiveError, match=said) as refused:
        from_zip(_zip(entries), parent=parent, **limits)
    assert "\n" not in str(refused.value)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["session"]


def test_the_cli_refuses_bad_data_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(_zip([("../evil.png", b"x")]))
    assert main(["transfer", str(bad), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "leads outside" in err
    (tmp_path / "one" / "red").mkdir(parents=True)
    assert main(["transfer", str(tmp_path / "one")]) == 2
    assert "at least 2 classes" in capsys.readouterr().err


def test_the_page_opens_on_the_bundled_shapes_and_says_the_minimum_for_your_own_classes():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("drawn by cvviz" in info.value for info in at.info)
    assert any(button.label.startswith("Teach EfficientNet-Lite0") for button in at.button)
    _loads_an_exported_head_back(at)
    at.radio(key="transfer.source").set_value("classes").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("needs at least 2 images" in warning.value for warning in at.warning)


def _loads_an_exported_head_back(at) -> None:
    """The page loads a head exported by a tiny probe run on the sidebar's backbone, reads the sidebar's
    image with it (Grad-CAM included), and refuses a head of another backbone or a corrupt file in one
    sentence."""
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(1.0, 0.1, (3, 1280)), rng.normal(-1.0, 0.1, (3, 1280))])
    result = cross_validate_head(
        features, np.array([0, 0, 0, 1, 1, 1]), ("cat", "dog"), "probe", 2, model_name="efficientnet_lite0"
    )
    state, meta = export_head(result, 1280)
    at.file_uploader(key="transfer.head_pt").upload("head.pt", state)
    at.file_uploader(key="transfer.head_json").upload("head.json", json.dumps(meta).encode()).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("cat, dog" in message.value for message in at.success)
    assert at.selectbox(key="transfer.loaded.cam_class").options == ["cat", "dog"]
    assert any(chart.key == "transfer.loaded.cam" for chart in at.get("plotly_chart"))
    other = json.dumps({**meta, "model": "resnet18"}).encode()
    at.file_uploader(key="transfer.head_json").clear().upload("other.json", other).run()
    assert [error.value for error in at.error] == [
        "This head was trained on resnet18, not efficientnet_lite0."
    ]
    at.file_uploader(key="transfer.head_pt").clear().upload("head.pt", b"not a state_dict")
    at.file_uploader(key="transfer.head_json").clear().upload("head.json", json.dumps(meta).encode()).run()
    assert len(at.error) == 1 and at.error[0].value.startswith("The weights file is not")
    assert not any(message.value.startswith("Loaded:") for message in at.success)
    at.file_uploader(key="transfer.head_pt").clear()
    at.file_uploader(key="transfer.head_json").clear()


def test_backbones_are_compared_on_the_same_data_and_one_that_cannot_load_says_why(tiny, reds_and_blues):
    from cvviz.errors import WeightsError
    from cvviz.transfer import compare_backbones

    def get_model(name: str) -> LoadedModel:
        if name == "vgg16":
            raise WeightsError("No trained weights for VGG-16 here.")
        return tiny

    rows = compare_backbones(["resnet18", "vgg16"], reds_and_blues, get_model, folds=2)
    assert [row.name for row in rows] == ["resnet18", "vgg16"]
    assert rows[0].acc_mean >= 0.95 and rows[0].params == sum(p.numel() for p in _tiny().parameters())
    assert rows[0].feature_dim == 16 and not rows[0].error
    assert rows[1].error == "No trained weights for VGG-16 here." and rows[1].acc_mean == 0.0
