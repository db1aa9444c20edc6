"""Every page of the app runs without an exception on the default model and a sample image (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cvviz.catalog import DEFAULT_MODEL
from ui.sidebar import model_label

ROOT = Path(__file__).resolve().parent.parent
# A cold start counts every catalog model's parameters once, so give the first run time.
TIMEOUT = 240


def page_paths() -> list[str]:
    """The pages app.py registers, read from the navigation itself."""
    import ast

    tree = ast.parse((ROOT / "app.py").read_text())
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page"
    ]


def run_page(page: str) -> AppTest:
    """Run the app and switch to ``page`` through its navigation."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    return at.switch_page(page).run()


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    return at.run()


def test_app_home_runs_with_default_model_and_sample_image(app):
    assert not app.exception
    assert app.sidebar.selectbox(key="global.model").value == model_label(DEFAULT_MODEL)
    assert not app.error
    assert any("sees" in header.value for header in app.subheader)


@pytest.mark.parametrize("page", page_paths())
def test_app_page_runs_without_exception(page):
    at = run_page(page)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.sidebar.selectbox(key="global.model").value == model_label(DEFAULT_MODEL)


def test_app_random_weights_are_marked_untrained(app):
    app.radio(key="global.weights").set_value("random").run()
    assert not app.exception
    assert any("untrained" in w.value.lower() for w in app.warning)
    app.radio(key="global.weights").set_value("pretrained").run()
    assert not any("untrained" in w.value.lower() for w in app.warning)


def test_app_without_an_image_asks_for_one_and_keeps_working(app):
    app.radio(key="global.image_source").set_value("upload").run()
    assert not app.exception
    assert any("Choose a sample" in info.value for info in app.info)
    app.radio(key="global.image_source").set_value("sample").run()
    assert not app.exception and not app.error
