"""The detection lab page: it offers training, and a trained detector's and U-Net's views follow the sliders
(post-processing only: the network's outputs over the held-out scenes are computed once)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cvviz.tasks.lab import TaskConfig, train
from cvviz.tasks.synthetic import make_scenes
from cvviz.tasks.unet import UNet

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "app_pages" / "task_lab.py")


@pytest.fixture(scope="module")
def runs():
    few = make_scenes(8, seed=5, part="test")  # the page itself reads the 200 held-out scenes
    return {
        task: train(TaskConfig(task=task, epochs=1, scenes=32, batch_size=16, seed=0), held_out=few)
        for task in ("detect", "segment")
    }


def _metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def test_without_a_run_the_page_offers_training():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(button.label == "Train" for button in at.button)
    assert at.info and "Train the model" in at.info[0].value


def test_detector_thresholds_rerun_only_the_post_processing(runs):
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["tasklab.runs"] = {"detect": runs["detect"]}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    view = at.session_state["tasklab.views"]["detect"]
    at.slider(key="tasklab.score").set_value(0.0).run()
    counts = _metrics(at)
    assert counts["Grid boxes"] == counts["Above the threshold"] == "128"  # 8 × 8 cells × 2 boxes
    assert 0 < int(counts["After NMS"]) < 128
    assert at.selectbox(key="tasklab.nms_class").options  # NMS is stepped for a class present
    at.slider(key="tasklab.score").set_value(1.0).run()
    counts = _metrics(at)
    assert counts["Above the threshold"] == counts["After NMS"] == "0"
    assert at.session_state["tasklab.views"]["detect"] is view  # the network did not run again
    assert not at.exception and not at.error


def test_segmenter_shows_its_masks_scores_and_skip_connections(runs):
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["tasklab.runs"] = {"segment": runs["segment"]}
    at.run()
    at.radio(key="tasklab.task").set_value("segment").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    shown = _metrics(at)
    assert 0.0 <= float(shown["mIoU, all held-out scenes"]) <= 1.0
    levels = at.session_state["tasklab.views"]["segment"].levels
    assert [level.encoder[0] for level in levels] == list(UNet().widths)  # the trained model's own shapes
