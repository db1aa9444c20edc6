"""Live camera: the selected model reads the webcam stream frame by frame, with its explanation drawn."""

import time

import numpy as np
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from cvviz.errors import CvvizError
from cvviz.explain.saliency import load_attribution_library
from cvviz.formatting import format_decimal
from cvviz.i18n import _
from cvviz.live import OVERLAY_TITLES, LiveOptions, annotate, overlays_for, process_frame
from ui.camera import CONNECT_TIMEOUT_S, LiveSession, rtc_configuration, webrtc_available
from ui.language import apply_language
from ui.messages import untrained_banner
from ui.resources import decode_image, workbench
from ui.sidebar import current_selection, offer_frozen_frame

SESSION_KEY = "live.session"
CONNECTING_KEY = "live.connecting_since"
FAILED_KEY = "live.failed"
FROZEN_NOTE_KEY = "live.frozen_note"
SNAPSHOT_KEY = "live.snapshot"
# The pages a frozen frame can be sent to.
PAGES = (
    ("app_pages/architecture.py", ":material/account_tree:"),
    ("app_pages/feature_maps.py", ":material/grid_view:"),
    ("app_pages/receptive_fields.py", ":material/center_focus_strong:"),
    ("app_pages/saliency.py", ":material/highlight:"),
)

selection = current_selection()
loaded = selection.model
spec = loaded.spec
untrained_banner(loaded)

st.title(_("Live camera: the model reads the video as it comes"))
st.markdown(
    _(
        "Hold something up to the camera. Every frame the model is free for, it names the top three classes "
        "and shows what it looked at; the white square is the part of the frame the model sees."
    )
)

overlays = overlays_for(spec)
left, right = st.columns([2, 3])
with left:
    overlay = st.radio(
        _("Overlay"),
        overlays,
        key=f"live.overlay.{spec.name}",
        format_func=lambda name: _(OVERLAY_TITLES[name]),
        horizontal=True,
    )
with right:
    channel = None
    if overlay == "feature_channel":
        channel = st.number_input(
            _("Channel of the last stage (empty: the most active one in each frame)"),
            min_value=0,
            value=None,
            step=1,
            key=f"live.channel.{spec.name}",
        )
options = LiveOptions(overlay=overlay, channel=None if channel is None else int(channel))


def _time_one_frame() -> float:
    """Seconds one frame takes with this model and overlay here (a grey VGA frame; Captum imported first,
    so the estimate is not inflated by the import)."""
    frame = np.full((480, 640, 3), 128, dtype=np.uint8)
    load_attribution_library()
    started = time.perf_counter()
    process_frame(loaded, frame, options)
    return time.perf_counter() - started


expected_rate = st.empty()  # filled once the video is on the page (timing takes a moment)

session: LiveSession = st.session_state.setdefault(SESSION_KEY, LiveSession())
session.configure(loaded, options)

configuration = None
if webrtc_available():
    try:
        configuration = rtc_configuration()
    except CvvizError as exc:
        st.error(str(exc))

ctx = None
video_column, figures_column = st.columns([3, 2])
if configuration is not None:
    with video_column:
        ctx = webrtc_streamer(
            key="live.stream",
            mode=WebRtcMode.SENDRECV,
            rtc_configuration=configuration,
            media_stream_constraints={"video": {"width": 640, "height": 480}, "audio": False},
            video_frame_callback=session.on_frame,
            on_video_ended=session.on_ended,
            async_processing=True,
            translations={
                "start": _("Start the camera"),
                "stop": _("Stop"),
                "select_device": _("Choose a camera"),
                "media_api_not_available": _("This browser cannot share a camera with the page."),
                "device_ask_permission": _("Allow the page to use the camera."),
                "device_not_available": _("No camera found."),
                "device_access_denied": _("The camera was not allowed."),
            },
        )
    playing = bool(ctx.state.playing)
    connecting = bool(ctx.state.signalling) and not playing
    if playing:
        st.session_state.pop(CONNECTING_KEY, None)
        st.session_state[FAILED_KEY] = False
    elif connecting:
        st.session_state.setdefault(CONNECTING_KEY, time.monotonic())
    elif st.session_state.pop(CONNECTING_KEY, None) is not None:
        st.session_state[FAILED_KEY] = True  # started, then gave up without ever playing
else:
    st.session_state[FAILED_KEY] = True


with expected_rate.container():
    try:
        with st.spinner(_("Timing one frame of {model}…").format(model=spec.title)):
            seconds = workbench().remember(loaded.key, None, "live.frame_seconds", options, _time_one_frame)
    except CvvizError as exc:
        st.error(str(exc))
        st.stop()
    rate = 1.0 / max(seconds, 1e-6)
    if rate >= 1:
        expected = _("{model} reads about {rate} frames per second here with this overlay.").format(
            model=spec.title, rate=format_decimal(rate, 1)
        )
    else:
        expected = _("{model} takes about {seconds} s per frame here with this overlay.").format(
            model=spec.title, seconds=format_decimal(seconds, 1)
        )
    if rate < 10:
        skipping = _(
            "The video keeps its own pace: frames that arrive while the model is busy are skipped, never "
            "queued, so the overlay is always about the newest frame it read."
        )
        st.info(f"{expected} {skipping}", icon=":material/speed:")
    else:
        st.caption(expected)


def duration(ms: float) -> str:
    """Milliseconds as a short reading: "85 ms", or "3.4 s" from a second up."""
    if ms >= 1000:
        return _("{s} s").format(s=format_decimal(ms / 1000, 1))
    return _("{ms} ms").format(ms=format_decimal(ms, 0))


# Refreshed every second only while a stream is connecting or playing (a start or stop reruns the page).
streaming = ctx is not None and (ctx.state.playing or ctx.state.signalling)


@st.fragment(run_every=1.0 if streaming else None)
def live_figures() -> None:
    """The stream's figures, refreshed every second from the session's worker (not from its thread)."""
    apply_language()  # a fragment rerun does not run the entry point, which sets it
    since = st.session_state.get(CONNECTING_KEY)
    if since is not None and time.monotonic() - since > CONNECT_TIMEOUT_S:
        st.session_state.pop(CONNECTING_KEY, None)
        st.session_state[FAILED_KEY] = True
        st.rerun(scope="app")
    stats = session.worker.stats()
    latest = session.worker.latest()
    if latest is None or not session.worker.alive:
        return
    result = latest.result
    model_rate, latency, video_rate = st.columns(3)
    model_rate.metric(_("Model"), _("{fps} fps").format(fps=format_decimal(stats.fps, 1)))
    latency.metric(
        _("Latency"),
        duration(stats.latency_ms),
        help=_(
            "From the frame's arrival to its result drawn: waiting, preprocessing, the model, the overlay."
        ),
    )
    video_rate.metric(_("Video"), _("{fps} fps").format(fps=format_decimal(session.video_fps(), 0)))
    st.caption(
        _(
            "Of the last frame's {total} ms, the model took {model_ms} ms. {processed} frames read, {skipped} "
            "of {received} skipped while the model was busy. Overlay: {overlay} of {detail}."
        ).format(
            total=format_decimal(result.timings.total_ms, 0),
            model_ms=format_decimal(result.timings.model_ms, 0),
            processed=stats.processed,
            skipped=stats.skipped,
            received=stats.received,
            overlay=_(OVERLAY_TITLES[result.overlay_kind]),
            detail=result.detail,
        )
    )
    if session.worker.error is not None:
        st.error(str(session.worker.error))


if ctx is not None:
    with figures_column:
        live_figures()
        freeze = st.button(
            _("Freeze this frame for the other pages"),
            icon=":material/photo_camera:",
            key="live.freeze",
            disabled=not ctx.state.playing,
        )
    if freeze:
        png = session.frozen_png()
        if png is not None:
            offer_frozen_frame(png)
            st.session_state[FROZEN_NOTE_KEY] = True
            st.rerun()

if st.session_state.get(FAILED_KEY):
    st.info(
        _(
            "The live video could not connect (a remote browser needs a TURN server, see the README), so "
            "here is the snapshot camera instead."
        ),
        icon=":material/videocam_off:",
    )
    shot = st.camera_input(_("Take a photo"), key=SNAPSHOT_KEY)
    if shot is not None:
        try:
            image = decode_image(shot.getvalue())
            frame = np.asarray(image.image.convert("RGB"))
            result = process_frame(loaded, frame, options)
        except CvvizError as exc:
            st.error(str(exc))
        else:
            st.image(annotate(frame, result, f"{result.timings.total_ms:.0f} ms"), width="stretch")
            if st.button(_("Use this photo on the other pages"), key="live.use_snapshot"):
                offer_frozen_frame(shot.getvalue())
                st.session_state[FROZEN_NOTE_KEY] = True
                st.rerun()

if st.session_state.get(FROZEN_NOTE_KEY):
    st.success(_("The frozen frame is now the current image of every page:"), icon=":material/check_circle:")
    with st.container(horizontal=True):
        for path, icon in PAGES:
            st.page_link(path, icon=icon)
