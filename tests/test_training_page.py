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
    offered = at.session_state["global.trained"]  # the paper's LeNet-5 joins the sidebar
    assert offered.name == "lenet5" and offered.weights == runs[0]["result"].state_dict_bytes()
    assert offered.summary.startswith("run 1:")


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


def test_in_kiosk_mode_the_page_says_runs_are_capped_and_a_run_carries_the_cap(monkeypatch):
    monkeypatch.setenv("CVVIZ_KIOSK", "1")
    monkeypatch.setenv("CVVIZ_KIOSK_RUN_S", "30")
    at = _page()
    assert not at.exception, [e.value for e in at.exception]
    assert any("a run stops after 30 s" in caption.value for caption in at.caption)
    at.button(key="train.start").click().run()
    job = at.session_state["train.live"]["job"]
    job.cancel()
    assert job.time_limit_s == 30 and job.wait(timeout=30)


def _sidebar_only():
    import streamlit as st

    from ui.sidebar import render_sidebar

    selection = render_sidebar()
    st.session_state["picked"] = (selection.name, selection.weights, selection.user_weights)


def test_the_network_trained_here_is_a_sidebar_model_loaded_as_an_upload():
    from ui.sidebar import MODEL_KEY, TRAINED_KEY, TRAINED_LABEL, TrainedModel

    at = AppTest.from_function(_sidebar_only, default_timeout=60)
    at.session_state[TRAINED_KEY] = TrainedModel("lenet5", b"state_dict bytes", "run 3: 98.1% test accuracy.")
    at.run()
    picker = at.sidebar.selectbox(key=MODEL_KEY)
    assert picker.options[0] == TRAINED_LABEL and at.session_state["picked"][1] == "pretrained"
    picker.set_value(TRAINED_LABEL).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["picked"] == ("lenet5", "user", b"state_dict bytes")
    assert "run 3: 98.1% test accuracy." in [caption.value for caption in at.sidebar.caption]
