"""Catalog-wide evaluation: exact counts on a folder whose answer is known, worker processes, resuming
from the results file, and two torchrun processes (Gloo, CPU) counting exactly as one."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cvviz.cli import main
from cvviz.jobs import Cancelled
from cvviz.measure.distributed import shard_indices
from cvviz.measure.evaluation import catalog_evaluation_job
from cvviz.measure.evaluation_results import COLUMNS, EvaluationRecord, append_result, read_results

ROOT = Path(__file__).resolve().parent.parent
MODEL = "shufflenet_v2_x0_5"
# Images per class folder (ImageNet indices). 13 readable images: two processes do not divide them evenly.
CLASSES = {281: 5, 948: 3, 1: 3, 500: 2}
# The model's weights make its logits a fixed bias, so it ranks 281, 948, 1, 0, 2 first for any image.
TOP5 = (281, 948, 1, 0, 2)
CORRECT1, CORRECT5 = CLASSES[281], CLASSES[281] + CLASSES[948] + CLASSES[1]


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """(folder, weights file): small generated JPEGs in class folders, one corrupt file, and a
    state_dict whose predictions are known without running the model."""
    import torchvision

    root = tmp_path_factory.mktemp("evaluation")
    folder = root / "val"
    rng = np.random.default_rng(0)
    for index, count in CLASSES.items():
        (folder / str(index)).mkdir(parents=True)
        for number in range(count):
            pixels = rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / str(index) / f"{number}.jpg", quality=80)
    (folder / "1" / "broken.jpg").write_bytes(b"not a jpeg")
    model = torchvision.models.shufflenet_v2_x0_5()
    state = model.state_dict()
    state["fc.weight"] = torch.zeros_like(state["fc.weight"])
    bias = -torch.arange(1000, dtype=torch.float32) / 1000
    bias[list(TOP5[:3])] = torch.tensor([3.0, 2.0, 1.0])
    state["fc.bias"] = bias
    weights = root / "fixed.pt"
    torch.save(state, weights)
    return folder, weights


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_shard_indices_cover_every_image_exactly_once_without_padding():
    for total in range(12):
        for world in range(1, 5):
            shards = [list(shard_indices(total, rank, world)) for rank in range(world)]
            assert sorted(i for shard in shards for i in shard) == list(range(total))
            assert max(map(len, shards)) - min(map(len, shards)) <= 1
    with pytest.raises(ValueError):
        shard_indices(5, 2, 2)


def test_cli_evaluate_counts_the_known_answer_with_workers_then_resumes(labelled, tmp_path, capsys):
    folder, weights = labelled
    out = tmp_path / "results.csv"
    args = ["evaluate", str(folder), "--models", MODEL, "--weights", str(weights), "--out", str(out)]
    assert main([*args, "--workers", "2", "--batch", "4", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (printed["images"], printed["processes"]) == (13, 1)
    [row] = _rows(out)
    assert set(COLUMNS) <= set(row) and {"model", "images", "top1", "top5", "device", "measured_at"} <= set(
        row
    )
    assert (row["model"], row["images"], row["skipped"]) == (MODEL, "13", "1")
    assert (int(row["correct1"]), int(row["correct5"])) == (CORRECT1, CORRECT5)
    assert float(row["top1"]) == pytest.approx(100 * CORRECT1 / 13, abs=1e-3)
    assert row["device"] == "CPU" and row["sample"] == "all"

    # Finished models are not redone: the row is kept as it was, and the run says so.
    assert main(args) == 0
    assert "1 already in" in capsys.readouterr().out
    assert _rows(out) == [row]
    # A different sample of the same folder is another measurement.
    assert main([*args, "--limit", "6", "--workers", "0"]) == 0
    assert [(r["sample"], r["images"]) for r in _rows(out)] == [("all", "13"), ("6", "6")]


def test_torchrun_two_gloo_processes_count_exactly_as_one(labelled, tmp_path):
    folder, weights = labelled
    single, double = tmp_path / "one.csv", tmp_path / "two.csv"
    common = ["evaluate", str(folder), "--models", MODEL, "--weights", str(weights), "--batch", "4"]
    assert main([*common, "--workers", "0", "--out", str(single)]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CVVIZ_CACHE_DIR": str(tmp_path)}
    launched = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "cvviz", *common, "--workers", "0", "--device", "cpu", "--out", str(double)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert launched.returncode == 0, launched.stderr[-2000:]
    assert launched.stdout.count(f"{MODEL}: top-1") == 1  # rank 0 alone reports and writes
    [one], [two] = _rows(single), _rows(double)
    counts = ("images", "correct1", "correct5", "skipped", "top1", "top5")
    assert [two[c] for c in counts] == [one[c] for c in counts]
    assert (one["processes"], two["processes"]) == ("1", "2")


def test_results_file_keeps_complete_rows_and_replaces_the_same_measurement(tmp_path):
    path = tmp_path / "results.csv"
    record = EvaluationRecord(MODEL, 10, 50.0, 90.0, 5, 9, 0, "pretrained", "/d", "all", "CPU", 1, 1.0, "t1")
    append_result(path, record)
    append_result(
        path, EvaluationRecord(**{**record.__dict__, "top1": 60.0, "correct1": 6, "measured_at": "t2"})
    )
    with path.open("a") as handle:
        handle.write(f"{MODEL},12,not-a-number\n")  # a torn line is ignored, not fatal
    [kept] = read_results(path)
    assert (kept.top1, kept.measured_at) == (60.0, "t2")


def test_cancelled_evaluation_stops_and_records_nothing(labelled, tmp_path):
    folder, weights = labelled
    out = tmp_path / "results.csv"
    job = catalog_evaluation_job([MODEL], folder, out, workers=0, user_weights=weights.read_bytes())
    job.cancel()
    with pytest.raises(Cancelled):
        job.run()
    assert job.status().state == "cancelled" and not out.exists()
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
    assert digest  # the weights label names the file's content


def test_cli_evaluate_errors_are_one_line(labelled, tmp_path, capsys):
    folder, weights = labelled
    assert main(["evaluate", str(tmp_path / "missing"), "--models", MODEL, "--weights", str(weights)]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["evaluate", str(folder), "--models", MODEL, "resnet18", "--weights", str(weights)]) == 2
    assert capsys.readouterr().err.startswith("error: A weights file belongs to one model")
