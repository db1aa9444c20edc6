"""The CLI contract: JSON shapes, exit status 2 and one ``error:`` line, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cvviz.cli import main
from cvviz.data.images import sample_images

ROOT = Path(__file__).resolve().parent.parent
CAT = str(sample_images()[0].path)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cvviz", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "TORCH_HOME": "/nonexistent-cvviz-test", "HOME": str(ROOT)},
    )


def test_cli_models_json_lists_the_catalog(capsys):
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_name = {row["name"]: row for row in rows}
    assert {"name", "family", "year", "params", "pretrained_available"} <= set(rows[0])
    assert by_name["resnet50"]["params"] == 25557032
    assert by_name["efficientnet_lite0"]["pretrained_available"] is True
    assert by_name["mobilenet_v1"]["pretrained_available"] is False


def test_cli_predict_json_is_a_ranked_list(capsys):
    assert main(["predict", CAT, "--topk", "3", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [set(row) for row in rows] == [{"index", "label", "prob"}] * 3
    assert rows[0]["index"] in range(281, 286)
    assert rows[0]["prob"] >= rows[1]["prob"] >= rows[2]["prob"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["predict", CAT, "--model", "resnet5000"], "Unknown model 'resnet5000'"),
        (["predict", "no-such-file.png"], "does not exist"),
        (["predict", __file__], "not an image"),
        (["predict", CAT, "--model", "resnet50"], "weights fetch resnet50"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_cli_errors_exit_2_with_one_line(args, message, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "no-weights-here"))
    try:
        status = main(args)
    except SystemExit as exit:  # argparse's usage errors leave through exit()
        status = exit.code
    stderr = capsys.readouterr().err
    assert status == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], stderr
    assert "Traceback" not in stderr


def test_cli_as_a_process_exits_2_with_one_line_and_no_traceback(tmp_path):
    """The real entry point, in a fresh interpreter: wrong weights for a model are one line."""
    import torch

    from cvviz.catalog import get_spec
    from cvviz.models.build import build_architecture

    path = tmp_path / "lenet.pth"
    torch.save(build_architecture(get_spec("lenet5")).state_dict(), path)
    result = run_cli("predict", CAT, "--model", "squeezenet1_1", "--weights", str(path))
    assert result.returncode == 2 and result.stderr.startswith(
        "error: These weights do not fit SqueezeNet 1.1"
    ), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    # A reader that stops early (``cvviz weights list | head``) is not an error: nothing on stderr.
    reader = subprocess.Popen(
        [sys.executable, "-m", "cvviz", "weights", "list"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "TORCH_HOME": "/nonexistent-cvviz-test", "HOME": str(tmp_path)},
    )
    reader.stdout.close()
    assert reader.wait(timeout=120) == 1 and reader.stderr.read() == b""


def test_cli_weights_list_reports_the_packaged_default(capsys):
    assert main(["weights", "list", "--json"]) == 0
    rows = {row["model"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["efficientnet_lite0"]["cached"] is True and rows["efficientnet_lite0"]["size_bytes"] > 10**7
