"""The visitor's language, chosen per browser session and set at the top of every script run.

``?lang=ko|en`` in the address wins, else the language chosen in the sidebar earlier in this session,
else the browser's own (``st.context.locale``), else ``CVVIZ_LANG`` (a kiosk's default), else English.
The language lives in :mod:`cvviz.i18n`'s context variable for this run only, so two sessions never see
each other's; ``st.fragment`` reruns (which do not run ``app.py``) call :func:`apply_language` again.
"""

from __future__ import annotations

import os

import streamlit as st

from cvviz.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, _, normalize_language, set_language

LANG_ENV = "CVVIZ_LANG"
LANG_PARAM = "lang"
LANGUAGE_KEY = "global.language"
SWITCH_KEY = "global.language_switch"


def resolve_language() -> str:
    """This session's language, by the order in the module docstring (never raises)."""
    asked = normalize_language(st.query_params.get(LANG_PARAM))
    if asked:
        return asked
    chosen = st.session_state.get(LANGUAGE_KEY)
    if chosen in LANGUAGES:
        return chosen
    try:
        browser = normalize_language(st.context.locale)
    except Exception:  # no browser behind this run (AppTest, a bare script)
        browser = None
    return browser or normalize_language(os.environ.get(LANG_ENV)) or DEFAULT_LANGUAGE


def begin_language() -> str:
    """Call first in the entry point: settle this session's language and use it for the rest of the run."""
    language = resolve_language()
    st.session_state[LANGUAGE_KEY] = language
    set_language(language)
    return language


def apply_language() -> None:
    """Use this session's language in a ``st.fragment`` rerun (which does not run the entry point)."""
    set_language(st.session_state.get(LANGUAGE_KEY) or resolve_language())


def _switched() -> None:
    language = st.session_state.get(SWITCH_KEY)
    if language in LANGUAGES:
        st.session_state[LANGUAGE_KEY] = language
        st.query_params[LANG_PARAM] = language  # a shared or reloaded link keeps the language
        _resend_choices()


def _resend_choices() -> None:
    """Have the browser redraw every widget's current choice in the new language.

    A widget keeps its identity across the switch (its key does not change), so the browser would keep
    showing the old words for the choice it holds; a value the script sets is sent to the browser again.
    Only plain choices are set (text, numbers, lists of them): buttons (True/False), uploads and chart
    selections refuse to be set, and show no translated choice anyway.
    """
    for key in list(st.session_state.keys()):
        value = st.session_state[key]
        plain = isinstance(value, (str, int, float)) and not isinstance(value, bool)
        if key in (SWITCH_KEY, LANGUAGE_KEY) or not (plain or _plain_list(value)):
            continue
        st.session_state[key] = value


def _plain_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, (str, int)) for item in value)


LABEL = N_("Language")


def language_switch(large: bool = False) -> None:
    """The sidebar's language switch; it keeps the page, the model and the image (only the words change)."""
    st.session_state[SWITCH_KEY] = st.session_state.get(LANGUAGE_KEY, DEFAULT_LANGUAGE)
    st.segmented_control(
        _(LABEL),
        list(LANGUAGES),
        format_func=LANGUAGES.get,
        key=SWITCH_KEY,
        on_change=_switched,
        width="stretch" if large else "content",
        label_visibility="collapsed" if large else "visible",
    )
