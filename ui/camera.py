"""The live camera's glue between ``streamlit-webrtc`` and :mod:`cvviz.live`.

A :class:`LiveSession` lives in one browser session's state. Its :meth:`LiveSession.on_frame` runs in
streamlit-webrtc's media thread for every video frame: it offers the frame to a
:class:`~cvviz.live.LatestFrameWorker` (the model reads the newest frame whenever it is free) and returns
the frame with the newest result drawn on it, so the video keeps the camera's rate whatever the model's.
It never calls ``st.*``; the page reads its figures from the script thread.

ICE servers: none by default, so on ``localhost``, a LAN or an offline kiosk the browser and the server
connect directly and nothing outside is asked (streamlit-webrtc would otherwise ask Google's STUN
server). For a remote browser behind NAT, ``CVVIZ_ICE_SERVERS`` holds a JSON list of TURN/STUN servers
in the browser's ``RTCIceServer`` form (see the README).
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from cvviz.errors import CvvizError
from cvviz.i18n import _
from cvviz.live import FrameResult, LatestFrameWorker, LiveOptions, annotate, process_frame

if TYPE_CHECKING:
    import av

    from cvviz.models.workbench import LoadedModel

ICE_SERVERS_ENV = "CVVIZ_ICE_SERVERS"
CONNECT_TIMEOUT_S = 15.0
"""How long a started stream may take to connect before the page offers the snapshot camera instead."""


class IceServersError(CvvizError, ValueError):
    """``CVVIZ_ICE_SERVERS`` is not a JSON list of ICE servers."""


def webrtc_available() -> bool:
    """Whether this script run belongs to a browser session a WebRTC stream can attach to (not so in an
    ``AppTest``, which has no server runtime); the page falls back to the snapshot camera otherwise."""
    from streamlit_webrtc.session_info import get_this_session_info

    try:
        return get_this_session_info() is not None
    except (AttributeError, RuntimeError):
        return False


def rtc_configuration() -> dict:
    """The WebRTC configuration for browser and server: ``CVVIZ_ICE_SERVERS`` when set, else no ICE
    servers at all (direct connections only: localhost, a LAN, a kiosk with no network)."""
    text = os.environ.get(ICE_SERVERS_ENV, "").strip()
    if not text:
        return {"iceServers": []}
    try:
        servers = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IceServersError(
            _("{variable} is not valid JSON: {reason}.").format(variable=ICE_SERVERS_ENV, reason=exc.msg)
        ) from exc
    if not isinstance(servers, list) or not all(isinstance(s, dict) and "urls" in s for s in servers):
        raise IceServersError(
            _('{variable} must be a JSON list of servers such as [{{"urls": "turn:host:3478"}}].').format(
                variable=ICE_SERVERS_ENV
            )
        )
    return {"iceServers": servers}


class LiveSession:
    """One browser session's stream: the model and overlay it uses (set by the page on every run), the
    worker reading frames, the newest frame seen and the video's own rate. A camera sends frames many
    times a second, so ``idle_s`` seconds without one means the stream is gone (a tab closed without
    stopping it) and the worker ends."""

    def __init__(self, idle_s: float = 2.0) -> None:
        self._lock = threading.Lock()
        self._loaded: LoadedModel | None = None
        self._options = LiveOptions()
        self._idle_s = idle_s
        self.worker: LatestFrameWorker[FrameResult] = LatestFrameWorker(self._process, idle_s=idle_s)
        self._frame: np.ndarray | None = None
        self._shown: deque[float] = deque(maxlen=30)

    def configure(self, loaded: LoadedModel, options: LiveOptions) -> None:
        """Use ``loaded`` and ``options`` from the next frame on."""
        with self._lock:
            self._loaded, self._options = loaded, options

    def _process(self, frame: np.ndarray) -> FrameResult:
        with self._lock:
            loaded, options = self._loaded, self._options
        if loaded is None:
            raise RuntimeError("no model configured")
        return process_frame(loaded, frame, options)

    def on_frame(self, frame: av.VideoFrame) -> av.VideoFrame:
        """streamlit-webrtc's video callback (its media thread): offer the frame, draw the newest result."""
        import av

        image = frame.to_ndarray(format="rgb24")
        now = time.perf_counter()
        self.worker.submit(image, now)
        with self._lock:
            self._frame = image
            self._shown.append(now)
        latest = self.worker.latest()
        stats = self.worker.stats()
        status = f"{stats.fps:.1f} fps · {stats.latency_ms:.0f} ms" if latest is not None else ""
        drawn = annotate(image, latest.result if latest is not None else None, status)
        return av.VideoFrame.from_ndarray(drawn, format="rgb24")

    def on_ended(self) -> None:
        """The stream stopped: end the worker now (a new stream gets a new one)."""
        self.worker.close()
        with self._lock:
            self.worker = LatestFrameWorker(self._process, idle_s=self._idle_s)
            self._shown.clear()

    def video_fps(self) -> float:
        """Frames per second the video itself runs at (over the last 30)."""
        with self._lock:
            times = list(self._shown)
        return (len(times) - 1) / (times[-1] - times[0]) if len(times) >= 2 and times[-1] > times[0] else 0.0

    def frozen_png(self) -> bytes | None:
        """The newest frame as PNG bytes (without anything drawn on it), or None before the first."""
        with self._lock:
            frame = self._frame
        if frame is None:
            return None
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, format="PNG")
        return buffer.getvalue()
