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


# A CNN with trained weights, a CNN with random weights, a ViT and a Swin: every page must follow a switch
# between them, and between images, with no error and with captions that agree with the controls.
SWITCHES = [
    ("efficientnet_lite0", "pretrained"),
    ("resnet18", "random"),
    ("vit_b_32", "random"),
    ("swin_t", "random"),
]


def _agreement(at, page: str, name: str) -> None:
    """Page-specific checks that what the captions say is what the controls show."""
    from cvviz.catalog import get_spec

    spec = get_spec(name)
    texts = [element.value for element in [*at.caption, *at.markdown, *at.title, *at.subheader]]
    if page.endswith("saliency.py"):
        box = next(b for b in at.selectbox if b.label.startswith("Class to explain"))
        index = int(box.value.removeprefix("top-1: ").split(":", 1)[0])
        assert any(f"Explaining class **{index}: {spec.categories[index]}**" in t for t in texts)
    elif page.endswith("feature_maps.py"):
        stage = at.selectbox(key=f"fm.stage.{name}").value
        assert any(t.startswith(f"`{stage}` output") for t in texts)
        channel = next(b for b in at.selectbox if b.label == "Enlarge channel")
        assert channel.value in channel.options
    elif page.endswith("receptive_fields.py") and get_family_field(name) == "convolutional":
        layer = next(b for b in at.selectbox if b.label == "Layer").value
        row = next(s for s in at.slider if s.label == "Unit row").value
        col = next(s for s in at.slider if s.label == "Unit column").value
        assert any(t.startswith(f"Unit ({row}, {col}) of `{layer}`") for t in texts)
    elif page.endswith("architecture.py"):
        assert any(t == f"Inside {spec.title}" for t in texts)


def get_family_field(name: str) -> str:
    from cvviz.catalog import get_family, get_spec

    return get_family(get_spec(name)).receptive_field


@pytest.mark.parametrize("page", page_paths())
def test_app_page_runs_and_follows_switches_of_model_weights_and_image(page):
    at = run_page(page)
    # First as a visitor finds it: the default model and a sample image.
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.sidebar.selectbox(key="global.model").value == model_label(DEFAULT_MODEL)
    for name, weights in SWITCHES:
        at.session_state["global.model"] = model_label(name)
        at.session_state["global.weights"] = weights
        at.run()
        assert not at.exception, (name, [e.value for e in at.exception])
        assert not at.error, (name, [e.value for e in at.error])
        _agreement(at, page, name)
    at.selectbox(key="global.sample").set_value("Coffee cup").run()
    assert not at.exception and not at.error
    _agreement(at, page, SWITCHES[-1][0])


@pytest.mark.parametrize("page", ["app.py", *page_paths()])
def test_page_has_no_bare_string_streamlit_magic_would_write(page):
    # Streamlit's "magic" writes every bare expression of a page script, a string under a constant (an
    # attribute docstring) included: it appeared above the page's title, untranslated.
    import ast

    tree = ast.parse((ROOT / page).read_text())
    bare = [
        statement.lineno
        for node in ast.walk(tree)
        if isinstance(getattr(node, "body", None), list)  # not a lambda's
        for i, statement in enumerate(node.body)
        if isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
        and not (i == 0 and isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)))
    ]
    assert bare == [], f"{page}: bare strings on lines {bare}"
