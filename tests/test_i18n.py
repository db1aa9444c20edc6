"""Korean and English: the catalog is complete and current, the language is per session, jobs and the CLI
speak their starter's language, and pages show no sentence that bypasses translation."""

from __future__ import annotations

import ast
import json
import string
import threading
from configparser import RawConfigParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from streamlit.testing.v1 import AppTest

from cvviz.i18n import DOMAIN, LOCALES_DIR, _, set_language, use_language

ROOT = Path(__file__).resolve().parent.parent
KO_PO = LOCALES_DIR / "ko" / "LC_MESSAGES" / f"{DOMAIN}.po"


@pytest.fixture(scope="module")
def korean():
    with KO_PO.open("rb") as handle:
        return read_po(handle, locale="ko", domain=DOMAIN)


def _placeholders(text: str) -> set[str]:
    """Named ``{placeholders}`` (str.format) and Plotly's ``%{field}`` templates in ``text``."""
    plotly = {f"%{{{name}}}" for name in _plotly_fields(text)}
    try:
        named = {field for _text, field, _spec, _conv in string.Formatter().parse(text) if field is not None}
    except ValueError:  # a bare brace: compare the raw text's braces instead
        named = set()
    return named | plotly


def _plotly_fields(text: str) -> list[str]:
    fields, start = [], text.find("%{")
    while start >= 0:
        end = text.find("}", start)
        fields.append(text[start + 2 : end])
        start = text.find("%{", end)
    return fields


def test_korean_catalog_has_no_untranslated_or_fuzzy_message(korean):
    untranslated, fuzzy = [], []
    for message in korean:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            untranslated.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
    assert len(korean) > 300  # the whole app, not a stub
    assert not untranslated, untranslated
    assert not fuzzy, fuzzy
    problems = [(message.id, [str(error) for error in errors]) for message, errors in korean.check()]
    assert not problems, problems  # what `pybabel compile` would refuse (e.g. %-placeholders)


def test_korean_messages_keep_every_placeholder(korean):
    lost = []
    for message in korean:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set().union(*(_placeholders(text) for text in ids))
        for text in strings:
            if _placeholders(text) != wanted:
                lost.append((message.id, text))
    assert not lost, lost


def _marked_messages(path: Path) -> set:
    """What ``pybabel extract`` takes from ``path``: the literal arguments of ``_``, ``N_`` and ``ngettext``
    (read with :mod:`ast`, which joins implicit concatenation as Babel does, in a fraction of its time).
    Like Babel on Python 3.11, it does not look inside f-strings (a ``_()`` there is never extracted)."""
    tree = ast.parse(path.read_text())
    in_fstrings = {
        id(inner) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for inner in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in in_fstrings:
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in KEYWORDS:
            texts = [a.value for a in node.args[: KEYWORDS[node.func.id]] if isinstance(a, ast.Constant)]
            if texts:
                found.add(texts[0] if len(texts) == 1 else tuple(texts))
    return found


KEYWORDS = {"_": 1, "N_": 1, "ngettext": 2}


def test_catalog_is_current_with_the_sources(korean):
    """The sources babel.cfg names mark no message missing from the Korean catalog."""
    config = RawConfigParser()
    config.read(ROOT / "babel.cfg")
    patterns = [section.split(":", 1)[1].strip() for section in config.sections()]
    files = {path for pattern in patterns for path in ROOT.glob(pattern.replace("**.py", "**/*.py"))}
    found = set().union(*(_marked_messages(path) for path in files))
    known = {message.id for message in korean if message.id}
    missing = sorted(str(m) for m in found - known)
    assert len(found) > 300
    assert not missing, f"run the README's pybabel extract/update and translate: {missing}"


def test_language_is_per_thread_never_process_wide():
    """Two sessions' script threads at once, one Korean one English, each see their own language."""
    barrier = threading.Barrier(2)
    seen: dict[str, list[str]] = {}

    def session(language: str) -> None:
        set_language(language)
        barrier.wait()  # both have set their language before either reads
        seen[language] = [_("The story") for _round in range(50)]

    threads = [threading.Thread(target=session, args=(lang,)) for lang in ("ko", "en")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(seen["ko"]) == {"이야기"}
    assert set(seen["en"]) == {"The story"}
    assert _("The story") == "The story"  # the test's own thread was never switched


def _language_script():
    import streamlit as st

    from cvviz.i18n import _
    from ui.language import begin_language, language_switch

    begin_language()
    st.title(_("The story"))
    language_switch()


def _run(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_function(_language_script, default_timeout=30)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def test_lang_query_parameter_picks_the_language_per_session(monkeypatch):
    monkeypatch.delenv("CVVIZ_LANG", raising=False)
    korean, english, default = _run({"lang": "ko"}), _run({"lang": "en"}), _run()
    assert korean.title[0].value == "이야기"
    assert english.title[0].value == "The story"
    assert default.title[0].value == "The story"
    assert not korean.exception and not english.exception


def test_cvviz_lang_is_the_default_and_the_switch_keeps_the_choice(monkeypatch):
    monkeypatch.setenv("CVVIZ_LANG", "ko")
    at = _run()
    assert at.title[0].value == "이야기"
    at.button_group(key="global.language_switch").set_value("en").run()
    assert at.title[0].value == "The story"
    assert at.query_params["lang"] == "en"  # written into the address: a reload keeps it


def test_a_job_started_in_korean_reports_in_korean():
    from cvviz.data.images import load_image
    from cvviz.jobs import Job

    def work(reporter):
        reporter.update(0.5, _("Reading the folder…"))
        load_image(b"")  # raises the library's one-sentence error

    with use_language("ko"):
        job = Job(_("Measuring"), work).start()
    assert job.wait(timeout=30)
    status = job.status()
    assert job.title == "측정"
    assert status.state == "failed"
    assert status.error == "이미지가 비어 있습니다(0바이트)."
    assert status.message == "폴더를 읽는 중…"


def test_cli_speaks_korean_but_keeps_json_keys(capsys, monkeypatch):
    from cvviz.cli import main

    monkeypatch.delenv("CVVIZ_LANG", raising=False)
    assert main(["weights", "list", "--lang", "ko"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.split()[0] == "모델"
    monkeypatch.setenv("CVVIZ_LANG", "ko")
    assert main(["weights", "list", "--json"]) == 0
    korean_json = json.loads(capsys.readouterr().out)
    assert main(["--lang", "en", "weights", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == korean_json
    assert main(["predict", "/no/such/image.png"]) == 2
    assert capsys.readouterr().err.strip() == "error: '/no/such/image.png' 파일이 없습니다."


def test_numbers_follow_the_language():
    from cvviz.formatting import display_value, format_decimal

    with use_language("ko"):
        assert display_value(True) == "예"
        assert format_decimal(1234.5, 1) == "1,234.5"
    assert display_value(True) == "yes"


def test_times_follow_the_language_and_stay_in_utc():
    from cvviz.formatting import format_timestamp

    stored = "2026-11-30T21:05:09+00:00"
    assert format_timestamp(stored) == "Nov 30, 2026 21:05"
    with use_language("ko"):
        assert format_timestamp(stored) == "2026년 11월 30일 21:05"
    assert format_timestamp("2026-11-30T21:05:09") == "Nov 30, 2026 21:05"  # no zone: UTC, as stored
    assert format_timestamp("not a time") == "not a time"


# Streamlit calls whose first argument (or label/text/help) a visitor reads.
_SHOWN = {
    "title", "header", "subheader", "markdown", "caption", "write", "info", "warning", "error", "success",
    "toast", "button", "download_button", "checkbox", "toggle", "radio", "selectbox", "multiselect",
    "slider", "number_input", "text_input", "file_uploader", "camera_input", "segmented_control",
    "expander", "spinner", "progress", "tabs", "Page", "page_link", "metric", "select_slider", "pills",
    "popover", "text_area", "link_button", "form_submit_button", "status",
}  # fmt: skip
_SHOWN_KEYWORDS = {"label", "text", "help", "placeholder", "caption", "title"}
# Literal labels that are code or file names, the same in every language.
_VERBATIM = {"state_dict (.pth)", "H = W", "C_in", "C_out"}
PAGES = [
    "app.py",
    *(str(path.relative_to(ROOT)) for path in sorted((ROOT / "app_pages").glob("*.py"))),
    *(str(path.relative_to(ROOT)) for path in sorted((ROOT / "ui").glob("*.py"))),
]


def _words(text: str) -> bool:
    """Text a reader reads: letters, and not a code name or a path (``app_pages/home.py``)."""
    is_path = "/" in text and " " not in text
    return any(c.isalpha() for c in text) and text not in _VERBATIM and not is_path


def _bypasses(node: ast.AST) -> bool:
    """A string literal or f-string with words in it, shown as is."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _words(node.value)
    if isinstance(node, ast.JoinedStr):
        return _words("".join(v.value if isinstance(v, ast.Constant) else "0" for v in node.values))
    if isinstance(node, ast.BinOp):
        return _bypasses(node.left) or _bypasses(node.right)
    if isinstance(node, (ast.List, ast.Tuple)):
        return any(_bypasses(item) for item in node.elts)
    return False


@pytest.mark.parametrize("path", PAGES)
def test_page_sentences_go_through_translation(path):
    tree = ast.parse((ROOT / path).read_text())
    raw = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in _SHOWN or ast.unparse(node.func.value) in ("log", "logger", "warnings"):
            continue
        shown = node.args[:1] + [k.value for k in node.keywords if k.arg in _SHOWN_KEYWORDS]
        raw += [f"line {node.lineno}: {ast.unparse(arg)[:60]}" for arg in shown if _bypasses(arg)]
    assert not raw, raw


def _korean_training_page():
    import runpy
    from pathlib import Path

    from ui.language import begin_language

    begin_language()
    runpy.run_path(str(Path.cwd() / "app_pages" / "training.py"), run_name="__page__")


def _small_digits(name: str = "digits", seed: int = 0, root=None):
    """The bundled digits' description over 30 random images per split: the page's words, not its data,
    are under test (preparing all 1,797 digits takes seconds)."""
    import torch

    from cvviz.training.data import DIGIT_CLASSES, DIGITS_PREPROCESSING, Dataset, DatasetInfo, Split

    generator = torch.Generator().manual_seed(seed)

    def split() -> Split:
        return Split(torch.rand(30, 1, 32, 32, generator=generator), torch.arange(30) % 10)

    info = DatasetInfo(name, "scikit-learn digits", DIGIT_CLASSES, 30, 30, 30, DIGITS_PREPROCESSING, "test")
    return Dataset(info, split(), split(), split())


def test_training_lab_in_korean_labels_every_widget_in_korean_and_keeps_english_values(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr("cvviz.training.data.load_dataset", _small_digits)
    at = AppTest.from_function(_korean_training_page, default_timeout=60)
    at.query_params["lang"] = "ko"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    widgets = [
        *at.selectbox,
        *at.slider,
        *at.select_slider,
        *at.number_input,
        *at.toggle,
        *at.button,
        *at.tabs,
    ]
    labels = [w.label for w in widgets]
    latin = {"Dropout"}  # kept in Latin script, as the field's Korean notes keep it
    assert len(labels) > 15
    assert [label for label in labels if label not in latin and not _has_hangul(label)] == []
    assert "학습 이미지" in " ".join(info.value for info in at.info)
    assert at.selectbox(key="train.dataset").value == "digits"  # the stored value stays English
    assert at.selectbox(key="train.norm").value == "none"


def test_receptive_field_notes_show_in_the_current_language():
    from cvviz.explain.receptive_field import translate_note
    from cvviz.explain.receptive_field.field import NOTES

    parts = [template.format(mode="reflect", op="chunk") for template in NOTES]
    note = "; ".join([*parts, "an unknown note"])
    assert translate_note(note) == note  # English is the notes' own text
    with use_language("ko"):
        korean = translate_note(note).split("; ")
        assert all(_(template) != template for template in NOTES)
    assert korean[-1] == "an unknown note"  # kept as is, not lost
    assert all(_has_hangul(part) for part in korean[:-1])
    assert len(korean) == len(note.split("; "))  # every note, none merged or dropped


def _has_hangul(text: str) -> bool:
    return any("\uac00" <= c <= "\ud7a3" for c in text)


def test_a_cached_english_row_note_shows_translated_with_its_numbers():
    from cvviz.measure.profiling import PUBLISHED_PARAMS_NOTE, translate_row_note

    note = PUBLISHED_PARAMS_NOTE.format(published="27,161,264", params="23,834,568")
    assert translate_row_note(note) == note
    with use_language("ko"):
        korean = translate_row_note(note)
        assert translate_row_note("measured with a warning") == "measured with a warning"
    assert _has_hangul(korean) and "27,161,264" in korean and "23,834,568" in korean
