"""The training lab page: it runs, says what data it trains on, and a short run started from it finishes."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "app_pages" / "training.py")


def _page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=120).run()


def test_training_page_runs_and_names_the_data_set_and_its_splits():
    at = _page()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    said = " ".join(info.value for info in at.info)
    assert "1,077 training" in said and "360 test" in said and "centred by centre of mass" in said
    assert any(button.label == "Train" for button in at.button)


def test_a_short_run_started_from_the_page_finishes_and_is_kept():
    at = _page()
    at.slider(key="train.epochs").set_value(1).run()
    at.button(key="train.start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    job = at.session_state["train.live"]["job"]
    assert job.wait(timeout=60) and job.status().state == "done", job.status()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    runs = at.session_state["train.runs"]
    assert len(runs) == 1 and runs[0]["result"].config.epochs == 1
    assert any(metric.label == "Test accuracy" for metric in at.metric)


def test_a_diverging_run_on_the_page_says_one_sentence():
    at = _page()
    at.slider(key="train.epochs").set_value(1).run()
    at.select_slider(key="train.lr").set_value(1000.0).run()
    at.selectbox(key="train.optimizer").set_value("sgd").run()
    at.button(key="train.start").click().run()
    job = at.session_state["train.live"]["job"]
    assert job.wait(timeout=60)
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [job.status().error]
    assert job.status().error.startswith("training diverged at step")
