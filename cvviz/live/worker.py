"""Reading a video stream at the model's own pace: always the newest frame, never a queue.

The video itself runs at the camera's rate; :meth:`LatestFrameWorker.submit` only replaces the one waiting
frame (a frame that arrives while the model is busy pushes out the one before, which is counted as
skipped), and a background thread reads the newest waiting frame whenever it is free. So a heavy model
shows fewer results per second, each about the present, instead of results that fall further behind.

The thread stops on :meth:`LatestFrameWorker.close` and, should nobody call it (a browser tab closed
mid-stream), by itself after ``idle_s`` seconds without a new frame; a later frame starts it again.
"""

from __future__ import annotations

import ctypes
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

R = TypeVar("R")

THREAD_NAME = "cvviz-live"
"""Every worker thread's name, in Python and (on Linux) for the operating system too, so ``top -H`` and
``/proc/PID/task/*/comm`` show it (tests look for leftovers by it)."""


def _name_os_thread(name: str) -> None:
    """Give the calling thread's operating-system thread ``name`` (Linux: 15 bytes at most); elsewhere,
    or if it fails, nothing happens."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


@dataclass(frozen=True)
class LiveResult(Generic[R]):
    """The newest finished frame: its ``result``, its number in the stream (``frame_index``, from 1), and
    its latency from capture to result in milliseconds."""

    result: R
    frame_index: int
    latency_ms: float


@dataclass(frozen=True)
class LiveStats:
    """The stream so far: frames received, read by the model and skipped (replaced before the model was
    free), results per second over the last few, and the last frame's capture → result latency (ms)."""

    received: int
    processed: int
    skipped: int
    fps: float
    latency_ms: float


class LatestFrameWorker(Generic[R]):
    """Runs ``process(frame)`` in a background thread on the newest submitted frame only (see the module
    docstring). An exception from ``process`` is kept in :attr:`error` and the stream goes on."""

    def __init__(self, process: Callable[[np.ndarray], R], *, idle_s: float = 5.0, window: int = 10) -> None:
        self._process = process
        self.idle_s = idle_s
        self._cond = threading.Condition()
        self._pending: tuple[np.ndarray, int, float] | None = None
        self._latest: LiveResult[R] | None = None
        self._finished: deque[float] = deque(maxlen=max(2, window))
        self._received = 0
        self._processed = 0
        self._skipped = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self.error: Exception | None = None

    def submit(self, frame: np.ndarray, captured_at: float | None = None) -> None:
        """Offer a frame (captured at ``captured_at``, ``time.perf_counter()`` seconds; now if None). It
        replaces any frame still waiting; never blocks."""
        captured_at = time.perf_counter() if captured_at is None else captured_at
        with self._cond:
            if self._closed:
                return
            self._received += 1
            if self._pending is not None:
                self._skipped += 1
            self._pending = (frame, self._received, captured_at)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name=f"{THREAD_NAME}-{id(self):x}", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        _name_os_thread(THREAD_NAME)
        while True:
            with self._cond:
                deadline = time.monotonic() + self.idle_s
                while self._pending is None and not self._closed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self._thread = None
                        return
                    self._cond.wait(left)
                if self._closed:
                    return
                frame, index, captured_at = self._pending
                self._pending = None
            try:
                result = self._process(frame)
            except Exception as exc:  # kept for the caller to show; the stream goes on
                with self._cond:
                    self.error = exc
                continue
            done = time.perf_counter()
            with self._cond:
                self._processed += 1
                self._finished.append(done)
                self.error = None
                self._latest = LiveResult(result, index, (done - captured_at) * 1000)

    def latest(self) -> LiveResult[R] | None:
        """The newest finished result (None before the first)."""
        with self._cond:
            return self._latest

    def stats(self) -> LiveStats:
        with self._cond:
            times = list(self._finished)
            fps = (
                (len(times) - 1) / (times[-1] - times[0]) if len(times) >= 2 and times[-1] > times[0] else 0.0
            )
            latency = self._latest.latency_ms if self._latest is not None else 0.0
            return LiveStats(self._received, self._processed, self._skipped, fps, latency)

    @property
    def alive(self) -> bool:
        """Whether the background thread is running."""
        with self._cond:
            thread = self._thread
        return thread is not None and thread.is_alive()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the background thread (waiting up to ``timeout`` s for a frame in progress); later frames
        are ignored."""
        with self._cond:
            self._closed = True
            self._pending = None
            thread = self._thread
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def __enter__(self) -> LatestFrameWorker[R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
