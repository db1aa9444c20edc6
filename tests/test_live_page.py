"""The live camera page in the app: a frozen frame as every page's image, the kiosk's first screen, the
WebRTC configuration, and the snapshot fallback where no stream can attach (AppTest has no WebRTC)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from ui.camera import ICE_SERVERS_ENV, IceServersError, rtc_configuration

ROOT = Path(__file__).resolve().parent.parent


def _png(colour: tuple[int, int, int], size: tuple[int, int] = (48, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _sidebar_with_a_frozen_frame():
    import numpy as np
    import streamlit as st

    from ui.sidebar import offer_frozen_frame, render_sidebar

    if "offer" in st.session_state:
        offer_frozen_frame(st.session_state.pop("offer"))
        st.rerun()
    selection = render_sidebar()
    st.session_state["picked"] = None if selection.image is None else np.asarray(selection.image.image)


def test_a_frozen_frame_becomes_the_image_of_every_page_until_another_replaces_it():
    from ui.sidebar import FROZEN_SOURCE, IMAGE_SOURCE_KEY

    at = AppTest.from_function(_sidebar_with_a_frozen_frame, default_timeout=60).run()
    source = at.sidebar.radio(key=IMAGE_SOURCE_KEY)
    assert "frozen frame" not in source.options and source.value == "sample"
    at.session_state["offer"] = _png((200, 30, 30))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    source = at.sidebar.radio(key=IMAGE_SOURCE_KEY)
    assert source.value == FROZEN_SOURCE and source.options[-1] == "frozen frame"
    picked = at.session_state["picked"]
    assert picked.shape == (32, 48, 3) and (picked == (200, 30, 30)).all()
    at.session_state["offer"] = _png((10, 20, 240), (20, 20))  # a second freeze replaces the first
    at.run()
    assert (at.session_state["picked"] == (10, 20, 240)).all()
    at.sidebar.radio(key=IMAGE_SOURCE_KEY).set_value("sample").run()  # and the samples stay one touch away
    assert at.session_state["picked"].shape != (20, 20, 3)


def test_a_kiosk_with_a_camera_opens_on_the_live_view_and_falls_back_to_the_snapshot(monkeypatch):
    monkeypatch.setenv("CVVIZ_KIOSK", "1")
    monkeypatch.setenv("CVVIZ_OFFLINE", "1")
    monkeypatch.setenv("CVVIZ_KIOSK_CAMERA", "1")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.startswith("Live camera")
    assert [r.options for r in at.radio if r.key == "live.overlay.efficientnet_lite0"] == [
        ["Grad-CAM", "Feature-map channel"]
    ]
    assert any("here with this overlay" in text.value for text in [*at.caption, *at.info])
    # No WebRTC session here: one sentence, and the snapshot camera instead.
    assert any("could not connect" in info.value for info in at.info)
    assert at.camera_input(key="live.snapshot") is not None
    from ui.kiosk import kiosk_settings

    monkeypatch.setenv("CVVIZ_KIOSK_CAMERA", "0")  # a kiosk without one keeps the story first
    assert not kiosk_settings().camera


def test_no_ice_servers_by_default_and_turn_servers_from_the_environment(monkeypatch):
    monkeypatch.delenv(ICE_SERVERS_ENV, raising=False)
    assert rtc_configuration() == {"iceServers": []}  # direct connections only: nothing outside is asked
    turn = '[{"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "c"}]'
    monkeypatch.setenv(ICE_SERVERS_ENV, turn)
    assert rtc_configuration()["iceServers"][0]["urls"] == ["turn:turn.example.org:3478"]
    for bad, sentence in (("[{", "not valid JSON"), ('{"urls": "turn:x"}', "JSON list of servers")):
        monkeypatch.setenv(ICE_SERVERS_ENV, bad)
        with pytest.raises(IceServersError, match=sentence):
            rtc_configuration()
