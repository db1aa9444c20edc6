"""The training lab: data, networks, the instrumented loop, cross-validation, the digit preprocessing and
the ``train`` command."""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
import struct

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from torch.nn import functional as F

from cvviz.catalog import get_spec
from cvviz.cli import main
from cvviz.data.digits import FIELD, SIZE, centre_digit_steps, centre_of_mass, has_ink
from cvviz.jobs import Job
from cvviz.models.build import build_architecture
from cvviz.models.loading import build_model
from cvviz.plotting.picking import picked_cell
from cvviz.plotting.training import confusion_figure
from cvviz.training import MODELS, TrainingConfig, TrainingConfigError, TrainingDiverged, train
from cvviz.training.crossval import cross_validate
from cvviz.training.data import (
    DatasetError,
    load_digits_dataset,
    load_mnist_dataset,
    read_idx,
    stratified_folds,
)
from cvviz.training.experiments import gradient_depth_profile, shift_robustness
from cvviz.training.loop import (
    EmptyDrawingError,
    RunLog,
    batch_order,
    batches_of,
    evaluate,
    initial_network,
    network_from_progress,
    network_from_result,
    one_thread,
    read_digit,
    rotate_images,
)
from cvviz.training.models import MLP, initialise, parameter_count, weighted_layers
from cvviz.training.search import LR_RANGE, METHODS, grid_points, search
from cvviz.training.timing import cross_validation_seconds, measure_step, run_seconds

QUICK = TrainingConfig(epochs=2, train_images=192, batch_size=32)
"""A run of a few seconds' fraction: two epochs over 192 training images."""


@pytest.fixture(scope="module")
def digits():
    return load_digits_dataset()


@pytest.fixture(scope="module")
def default_run(digits):
    return train(TrainingConfig(), dataset=digits)


def _metrics(result) -> list[dict]:
    return [{k: v for k, v in dataclasses.asdict(m).items() if k != "seconds"} for m in result.epochs]


# Data -------------------------------------------------------------------------------------------------


def test_digits_split_is_fixed_disjoint_and_stratified(digits):
    again = load_digits_dataset()
    sizes = (len(digits.train), len(digits.val), len(digits.test))
    assert sum(sizes) == 1797 and sizes == (
        digits.info.train_images,
        digits.info.val_images,
        digits.info.test_images,
    )
    assert torch.equal(digits.test.images, again.test.images)
    everything = torch.cat([digits.train.labels, digits.val.labels, digits.test.labels])
    overall = np.bincount(everything.numpy()) / len(everything)
    for split in (digits.train, digits.val, digits.test):
        share = np.bincount(split.labels.numpy(), minlength=10) / len(split)
        assert np.abs(share - overall).max() < 0.01
    flat = torch.cat([digits.train.images, digits.val.images, digits.test.images]).flatten(1)
    assert len(torch.unique(flat, dim=0)) >= 1790  # the splits do not share images (bar a few duplicates)
    assert f"{sizes[0]:,} training" in digits.info.summary and "20×20" in digits.info.preprocessing


def test_digits_are_32x32_normalised_with_the_ink_centred(digits):
    images = digits.train.images
    assert images.shape[1:] == (1, 32, 32) and images.min() >= -1 and images.max() <= 1
    for image in images[:20, 0] * 0.5 + 0.5:
        row, col = centre_of_mass(image.numpy())
        assert abs(row - 15.5) < 0.05 and abs(col - 15.5) < 0.05


def _write_idx(path, array: np.ndarray) -> None:
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, 8, array.ndim, *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def test_mnist_loader_reads_small_idx_files(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    train_images, test_images = rng.integers(0, 256, (60, 28, 28)), rng.integers(0, 256, (10, 28, 28))
    train_labels, test_labels = np.arange(60) % 10, np.arange(10)
    _write_idx(raw / "train-images-idx3-ubyte.gz", train_images)
    _write_idx(raw / "train-labels-idx1-ubyte.gz", train_labels)
    _write_idx(raw / "t10k-images-idx3-ubyte.gz", test_images)
    _write_idx(raw / "t10k-labels-idx1-ubyte.gz", test_labels)
    data = load_mnist_dataset("mnist", root=tmp_path)
    assert (len(data.train), len(data.val), len(data.test)) == (50, 10, 10)
    assert data.test.images.shape == (10, 1, 32, 32)
    assert torch.equal(data.test.labels, torch.arange(10))
    inner = data.test.images[:, 0, 2:30, 2:30] * 0.5 + 0.5
    torch.testing.assert_close(inner, torch.as_tensor(test_images / 255.0, dtype=torch.float32))
    assert (data.test.images[:, :, :2] == -1).all()  # the 2-pixel padding is black
    assert sorted(np.bincount(data.val.labels.numpy())) == [1] * 10  # validation: stratified


def test_mnist_offline_refuses_in_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("CVVIZ_OFFLINE", "1")
    with pytest.raises(DatasetError, match="downloads are off") as caught:
        load_mnist_dataset("mnist", root=tmp_path)
    assert "\n" not in str(caught.value) and str(caught.value).endswith(".")


def test_read_idx_refuses_a_file_that_is_not_idx(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(DatasetError, match="not an IDX file"):
        read_idx(path)


def test_kfold_splits_are_disjoint_covering_and_stratified(digits):
    labels = digits.train.labels.numpy()
    folds = stratified_folds(labels, 5, seed=0)
    held = np.concatenate([held for _, held in folds])
    assert len(held) == len(labels) and set(held) == set(range(len(labels)))
    for train_idx, held_idx in folds:
        assert not set(train_idx) & set(held_idx) and len(train_idx) + len(held_idx) == len(labels)
        per_class = np.bincount(labels[held_idx], minlength=10)
        expected = np.bincount(labels, minlength=10) / 5
        assert np.abs(per_class - expected).max() <= 1


# Digit preprocessing (the MNIST convention) -----------------------------------------------------------


def _dark_digit_on_paper() -> Image.Image:
    """A "7" drawn in dark ink, off-centre, on light grey paper, wider than tall."""
    image = Image.new("L", (160, 120), 225)
    draw = ImageDraw.Draw(image)
    draw.line([(20, 15), (70, 15), (40, 80)], fill=30, width=9)
    draw.line([(35, 48), (60, 48)], fill=30, width=6)
    return image


def test_centre_digit_puts_the_centre_of_mass_at_the_centre():
    steps = centre_digit_steps(_dark_digit_on_paper())
    assert steps.inverted and steps.padded.shape == (SIZE, SIZE) and steps.centred.shape == (FIELD, FIELD)
    assert max(steps.fitted.shape) == 20 and steps.fitted.shape[0] > steps.fitted.shape[1]
    row, col = centre_of_mass(steps.padded)
    assert abs(row - 15.5) < 0.05 and abs(col - 15.5) < 0.05
    assert steps.padded[:2].max() == 0 and steps.padded[:, :2].max() == 0  # the 2-pixel margin
    assert steps.padded.max() > 0.9  # ink is bright


def test_an_empty_canvas_has_no_ink():
    assert not has_ink(Image.new("L", (64, 64), 255))
    assert has_ink(_dark_digit_on_paper())
    assert centre_digit_steps(Image.new("L", (64, 64), 0)).padded.max() == 0


# Networks --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_every_network_maps_digits_to_ten_logits(name):
    config = TrainingConfig(model=name, depth=3, norm="batch", dropout=0.1)
    model = initial_network(config)
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 10)


def test_the_mlp_has_about_lenets_parameter_count():
    lenet = parameter_count(build_architecture(get_spec("lenet5")))
    assert lenet == 61706
    assert abs(parameter_count(MLP()) - lenet) / lenet < 0.01
    plain, residual = (initial_network(TrainingConfig(model=m, depth=6)) for m in ("plain", "residual"))
    assert parameter_count(plain) == parameter_count(residual)


def test_lenet_options_keep_the_catalog_layer_names():
    trained = initial_network(TrainingConfig(dropout=0.5, model="lenet5"))
    build_architecture(get_spec("lenet5")).load_state_dict(trained.state_dict())  # strict by default


@pytest.mark.parametrize("scheme", ["xavier", "he", "zeros", "large"])
def test_initialisations_set_the_weights_they_promise(scheme):
    model = MLP()
    initialise(model, scheme)
    first = model.classifier[0].weight
    fan_in, fan_out = first.shape[1], first.shape[0]
    expected = {
        "xavier": math.sqrt(2 / (fan_in + fan_out)),
        "he": math.sqrt(2 / fan_in),
        "zeros": 0.0,
        "large": 1.0,
    }[scheme]
    assert float(first.detach().std()) == pytest.approx(expected, rel=0.1, abs=1e-6)
    assert float(model.classifier[0].bias.detach().abs().max()) == 0.0


# Configuration ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"lr": -0.1}, "learning rate must be a positive number"),
        ({"lr": float("nan")}, "learning rate must be a positive number"),
        ({"batch_size": 0}, "batch size must be a whole number"),
        ({"optimizer": "adamax"}, "Unknown optimiser 'adamax'"),
        ({"epochs": 0}, "epochs must be a whole number"),
        ({"dropout": 1.0}, "Dropout must be at least 0 and below 1"),
        ({"weight_decay": -1e-4}, "Weight decay must be zero or positive"),
        ({"schedule": "warm"}, "Unknown learning-rate schedule"),
        ({"init": "orthogonal"}, "Unknown initialisation"),
    ],
)
def test_bad_hyperparameters_are_refused_in_one_sentence(change, words):
    with pytest.raises(TrainingConfigError) as caught:
        TrainingConfig(**change)
    message = str(caught.value)
    assert words in message and "\n" not in message and message.endswith(".")
    assert message.count(". ") == 0  # one sentence


# The loop --------------------------------------------------------------------------------------------


def test_same_seed_and_config_give_identical_metrics(digits):
    config = QUICK.replace(augment=True, dropout=0.2, optimizer="momentum", lr=0.05, schedule="cosine")
    first, second = train(config, dataset=digits), train(config, dataset=digits)
    assert _metrics(first) == _metrics(second) and first.test_acc == second.test_acc
    np.testing.assert_array_equal(first.progress.gradient_norms, second.progress.gradient_norms)
    other = train(config.replace(seed=1), dataset=digits)
    assert _metrics(other) != _metrics(first)


def test_recorded_gradient_norms_equal_autograds(digits):
    config = QUICK.replace(
        epochs=1, train_images=64, optimizer="sgd", schedule="constant", lr=0.1, dropout=0.0
    )
    result = train(config, dataset=digits)
    assert result.progress.gradient_norms.shape == (2, len(result.progress.layers))
    model = initial_network(config)
    batch = batch_order(config, 64, epoch=0)[:32]
    images, labels = digits.train.images[:64][batch], digits.train.labels[:64][batch]
    weights = [layer.weight for _, layer in weighted_layers(model)]
    grads = torch.autograd.grad(F.cross_entropy(model(images), labels), weights)
    expected = torch.stack([torch.linalg.vector_norm(g) for g in grads])
    torch.testing.assert_close(torch.as_tensor(result.progress.gradient_norms[0]), expected)


def test_early_stopping_restores_the_best_weights(digits):
    # Plain SGD at a rate too high to settle: the validation loss goes up and down.
    config = QUICK.replace(epochs=8, optimizer="sgd", lr=0.5, schedule="constant", patience=2)
    result = train(config, dataset=digits)
    losses = [m.val_loss for m in result.epochs]
    assert result.best_epoch == int(np.argmin(losses)) + 1
    assert result.best_epoch < len(losses), "the run should have got worse after its best epoch"
    kept_loss, _, _ = evaluate(network_from_result(result), digits.val)
    assert kept_loss == pytest.approx(min(losses), rel=1e-5)
    assert result.stopped_early == (len(losses) < config.epochs)


def test_a_diverging_run_stops_with_a_sentence(digits):
    with pytest.raises(
        TrainingDiverged, match=r"^training diverged at step \d+: try a smaller learning rate"
    ):
        train(QUICK.replace(lr=1e3, optimizer="sgd", schedule="constant"), dataset=digits)


def test_histograms_and_filters_are_recorded_per_epoch(digits):
    result = train(QUICK, dataset=digits)
    progress = result.progress
    assert result.filter_history.shape == (3, 6, 5, 5)  # initialisation and two epochs of C1's filters
    assert set(progress.weight_histograms) == set(progress.layers)
    assert all(h.counts.sum() > 0 for h in progress.activation_histograms.values())
    assert result.confusion.sum() == len(digits.test) and np.trace(result.confusion) == round(
        result.test_acc * len(digits.test)
    )


def test_cross_validation_scores_every_fold(digits):
    result = cross_validate(QUICK.replace(epochs=1), 3, dataset=digits)
    assert [f.fold for f in result.folds] == [1, 2, 3]
    assert sum(f.held_out for f in result.folds) == len(digits.train) + len(digits.val)
    assert 0 <= result.mean_acc <= 1 and result.std_acc >= 0


def test_a_deep_sigmoid_plain_network_loses_its_gradient_and_the_residual_keeps_it(digits):
    profiles = {
        name: gradient_depth_profile(
            TrainingConfig(model=name, depth=12, activation="sigmoid", optimizer="sgd", lr=0.05),
            steps=1,
            dataset=digits,
        )
        for name in ("plain", "residual")
    }
    plain, residual = profiles["plain"].at_init, profiles["residual"].at_init
    assert plain[1] < plain[-2] / 100  # input side far weaker than output side
    assert residual[1] / residual[-2] > 10 * plain[1] / plain[-2]


def test_default_run_reaches_97_percent_on_digits(default_run):
    assert default_run.test_acc >= 0.97, default_run.test_acc


def test_shift_robustness_is_best_without_a_shift_or_a_turn(default_run, digits):
    curve = shift_robustness(default_run, shifts=range(-6, 7, 3), dataset=digits, angles=range(-60, 61, 30))
    middle = list(curve.shifts).index(0)
    assert curve.horizontal[middle] == pytest.approx(default_run.test_acc)
    assert curve.horizontal[middle] > curve.horizontal[0] and curve.vertical[middle] > curve.vertical[-1]
    upright = list(curve.angles).index(0)
    assert curve.rotated[upright] == pytest.approx(default_run.test_acc, abs=1 / len(digits.test))
    assert curve.rotated[upright] > max(curve.rotated[0], curve.rotated[-1])


def test_rotating_a_quarter_turn_is_rot90_and_no_turn_changes_nothing(digits):
    images = digits.test.images[:3]
    torch.testing.assert_close(rotate_images(images, 0), images, atol=1e-5, rtol=0)
    torch.testing.assert_close(
        rotate_images(images, 90), torch.rot90(images, 1, dims=(2, 3)), atol=1e-4, rtol=0
    )


# The command -----------------------------------------------------------------------------------------


def test_cli_train_json_prints_one_object_per_epoch_then_the_test_accuracy(tmp_path, capsys):
    out = tmp_path / "run.pt"
    status = main(
        ["train", "--epochs", "2", "--optimizer", "adam", "--lr", "0.003", "--json", "--out", str(out)]
    )
    assert status == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["epoch"] for line in lines[:-1]] == [1, 2]
    assert all(
        set(line) == {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"}
        for line in lines[:-1]
    )
    assert 0 <= lines[-1]["test_acc"] <= 1
    state = torch.load(out, weights_only=True)
    assert set(state) == set(build_architecture(get_spec("lenet5")).state_dict())


def test_cli_train_refuses_a_bad_learning_rate_in_one_line(tmp_path, capsys):
    assert main(["train", "--lr", "-1", "--out", str(tmp_path / "run.pt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: The learning rate must be a positive number")


def _paper_scan(pixels: np.ndarray) -> Image.Image:
    """An 8×8 digit (ink bright, 0–1) as a 96×96 scan: dark ink on white paper, enlarged smoothly."""
    paper = Image.fromarray(np.round(255 * (1 - pixels)).astype(np.uint8))
    return paper.resize((96, 96), Image.Resampling.BILINEAR)


def test_trained_weights_load_into_predict_which_reads_dark_digits_on_paper(default_run, tmp_path, capsys):
    from sklearn.datasets import load_digits

    weights = tmp_path / "run.pt"
    torch.save(default_run.state_dict, weights)
    bunch = load_digits()
    right = 0
    for index in range(10):
        scan = tmp_path / f"digit{index}.png"
        _paper_scan(bunch.images[index] / 16.0).save(scan)
        assert main(["predict", str(scan), "--model", "lenet5", "--weights", str(weights), "--json"]) == 0
        best = json.loads(capsys.readouterr().out)[0]
        right += best["label"] == str(bunch.target[index])
    assert right >= 8


# Hyper-parameter search and reading a digit -----------------------------------------------------------


def test_grid_points_cover_the_ranges_on_a_log_grid():
    points = grid_points(9)
    lrs, decays = sorted({p[0] for p in points}), sorted({p[1] for p in points})
    assert len(points) == 9 and len(lrs) == 3 and len(decays) == 3
    assert lrs[0] == pytest.approx(LR_RANGE[0]) and lrs[-1] == pytest.approx(LR_RANGE[1])
    assert lrs[1] == pytest.approx(math.sqrt(lrs[0] * lrs[2]))


@pytest.mark.parametrize("method", METHODS)
def test_each_search_method_spends_exactly_its_budget(digits, method):
    tiny = TrainingConfig(epochs=1, train_images=64)
    trials = search(tiny, method, 2, dataset=digits)
    assert [t.number for t in trials] == [1, 2] and {t.method for t in trials} == {method}
    assert all(LR_RANGE[0] <= t.lr <= LR_RANGE[1] and 0 <= t.val_acc <= 1 for t in trials)
    if method != "grid":
        assert trials == search(tiny, method, 2, dataset=digits)  # seeded: the same points again


def test_reading_an_empty_drawing_is_one_sentence(default_run):
    with pytest.raises(
        EmptyDrawingError, match=r"^There is nothing drawn: draw a digit or upload a photo of one\.$"
    ):
        read_digit(default_run, Image.new("L", (200, 200), 255))
    reading = read_digit(default_run, _dark_digit_on_paper())
    assert reading.probabilities.shape == (10,) and reading.probabilities.sum() == pytest.approx(1, abs=1e-5)


def test_runs_use_one_thread_and_give_the_setting_back(digits):
    before = torch.get_num_threads()
    with one_thread():
        with one_thread():  # overlapping runs
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    train(QUICK.replace(epochs=1, train_images=32), dataset=digits)
    assert torch.get_num_threads() == before


def test_a_drawing_canvas_is_read_as_the_same_digit_on_paper(default_run):
    paper = _dark_digit_on_paper()
    ink = 255 - np.asarray(paper)
    canvas = np.zeros((*ink.shape, 4), dtype=np.uint8)  # transparent where nothing is drawn
    canvas[..., 3] = np.where(ink > 100, 255, 0)  # the strokes, opaque black
    drawn, photo = (
        read_digit(default_run, canvas),
        read_digit(default_run, paper.point(lambda v: 0 if v < 128 else 255)),
    )
    np.testing.assert_allclose(drawn.steps.padded, photo.steps.padded, atol=1e-6)
    assert drawn.best == photo.best
    with pytest.raises(EmptyDrawingError, match=r"^There is nothing drawn"):
        read_digit(default_run, np.zeros((280, 280, 4), dtype=np.uint8))


def test_the_downloaded_state_dict_loads_back_as_the_catalogs_lenet5(default_run, digits):
    """The file the page offers is what the sidebar's upload and ``--weights`` load (weights_only)."""
    model, info = build_model(get_spec("lenet5"), "user", user_weights=default_run.state_dict_bytes())
    assert info.kind == "user" and default_run.config.catalog_model == "lenet5"
    images = digits.test.images[:16]
    with torch.inference_mode():
        torch.testing.assert_close(model(images), network_from_result(default_run)(images))


def test_a_run_shows_its_weights_as_it_trains(digits):
    log, quick = RunLog(), QUICK.replace(epochs=1, train_images=96)
    result = train(quick, dataset=digits, log=log)
    progress = log.snapshot()
    assert progress.weights_step == len(batches_of(quick.train_images, quick.batch_size))
    live, done = network_from_progress(progress), network_from_result(result)
    with torch.inference_mode():
        torch.testing.assert_close(live(digits.val.images[:8]), done(digits.val.images[:8]))


def test_a_run_at_its_jobs_time_limit_keeps_what_it_learned(digits):
    long = QUICK.replace(epochs=500)
    result = Job("capped", lambda reporter: train(long, reporter, dataset=digits), time_limit_s=0.4).run()
    assert result.time_limited and 1 <= len(result.epochs) < long.epochs
    assert 0 <= result.test_acc <= 1 and result.final_dict()["time_limited"] is True
    unlimited = train(QUICK.replace(epochs=1), dataset=digits)
    assert not unlimited.time_limited


def test_estimates_grow_with_the_work_from_one_measured_step(digits):
    timing = measure_step(QUICK, digits)
    assert timing.train_step_s > 0 and timing.forward_image_s > 0
    one, three = (
        run_seconds(QUICK.replace(epochs=1), digits, timing),
        run_seconds(QUICK.replace(epochs=3), digits, timing),
    )
    per_epoch = len(batches_of(QUICK.train_images, QUICK.batch_size)) * timing.train_step_s
    assert three - one == pytest.approx(2 * (per_epoch + (len(digits.val) + 128) * timing.forward_image_s))
    full = QUICK.replace(train_images=None)
    pool = len(digits.train) + len(digits.val)
    assert cross_validation_seconds(full, digits, timing, 4) == pytest.approx(
        4 * run_seconds(full, digits, timing, train_images=pool - pool // 4)
    )


def test_clicking_a_confusion_cell_picks_its_true_and_predicted_class():
    matrix = np.arange(9).reshape(3, 3)
    figure = confusion_figure(matrix, ("a", "b", "c"), pickable=True)
    pick = next(trace for trace in figure.data if trace.type == "scatter")
    index = list(map(tuple, pick.customdata)).index((2, 1))
    assert (pick.x[index], pick.y[index]) == (1, 2) and pick.text[index] == "true c, predicted b: 7"
    click = {"selection": {"points": [{"customdata": [2, 1], "x": 1, "y": 2}]}}
    assert picked_cell(click) == (2, 1)
