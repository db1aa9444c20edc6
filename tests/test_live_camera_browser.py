"""The live camera end to end: `streamlit run app.py`, Chromium with a fake camera playing a clip made from
a bundled sample photo, the video through WebRTC to the server's model and back with the prediction drawn.

The server's worker threads are seen from outside through ``/proc/PID/task/*/comm`` (the worker names its
operating-system thread), so the test knows whether one is left behind.
"""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks.live_app import BROWSER_FLAGS, CHROMIUM, serve_app
from cvviz.data.images import load_sample
from cvviz.live.worker import THREAD_NAME

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)
if not Path("/proc/self/task").exists():
    pytest.skip("needs Linux's /proc to see the server's threads", allow_module_level=True)
pytest.importorskip("playwright.sync_api")

FRAMES_READ = 2
"""Frames the model must have read, with a prediction drawn, before the stream counts as working."""
WAIT_MS = 120_000

# Inside the component's frame: the video's top band, where the classes are drawn, against the rest.
_BANDS = """(video) => {
  if (video.videoWidth === 0) return null;
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const context = canvas.getContext('2d');
  context.drawImage(video, 0, 0);
  const rows = Math.max(4, Math.round(canvas.height / 12));
  const top = context.getImageData(0, 0, canvas.width, rows).data;
  const middle = context.getImageData(0, Math.round(canvas.height / 2), canvas.width, rows).data;
  return [Array.from(top), Array.from(middle)];
}"""


def _write_clip(path: Path, width: int = 320, height: int = 240, frames: int = 4) -> Path:
    """A Y4M clip (what Chromium's fake camera plays) of the bundled cat photo, shifted a little per frame."""
    rgb = np.asarray(load_sample("cat").image.convert("RGB").resize((width, height)), dtype=np.float32)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F15:1 Ip A1:1 C420jpeg\n".encode())
        for k in range(frames):
            r, g, b = np.moveaxis(np.roll(rgb, 3 * k, axis=1), -1, 0)
            y = 0.299 * r + 0.587 * g + 0.114 * b
            u = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
            v = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
            out.write(b"FRAME\n")
            for plane in (y, *(c.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3)) for c in (u, v))):
                out.write(np.clip(plane, 0, 255).astype(np.uint8).tobytes())
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    # One torch thread: intra-op threads that the worker happens to start inherit its OS thread name, and
    # would be counted as workers.
    env = {"TORCH_HOME": str(tmp_path_factory.mktemp("torch")), "CVVIZ_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    with serve_app(env, log=log) as running:
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    clip = _write_clip(tmp_path_factory.mktemp("camera") / "cat.y4m")
    flags = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*BROWSER_FLAGS, *flags, f"--use-file-for-fake-video-capture={clip}"],
        )
        try:
            yield instance
        finally:
            instance.close()


def worker_threads(pid: int) -> int:
    """The server's live-camera worker threads now."""
    count = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # the thread ended while we looked
            count += (task / "comm").read_text().strip() == THREAD_NAME
    return count


def _wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def frames_read(page) -> int:
    match = re.search(r"(\d+) frames read", page.inner_text('[data-testid="stMain"]'))
    return int(match.group(1)) if match else 0


def start_stream(page, url: str):
    page.goto(f"{url}/live_camera")
    page.wait_for_selector('iframe[title*="streamlit_webrtc"]', timeout=WAIT_MS)
    component = page.frame_locator('iframe[title*="streamlit_webrtc"]')
    component.get_by_role("button", name="Start the camera").click(timeout=WAIT_MS)
    return component


def test_live_camera_reads_frames_draws_the_prediction_stops_cleanly_and_leaves_no_worker(server, browser):
    url, pid = server
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        component = start_stream(page, url)
        _wait_for(lambda: frames_read(page) >= FRAMES_READ, WAIT_MS / 1000, f"{FRAMES_READ} frames read")
        # One session, one worker (a rerun may replace it; the one replaced ends within seconds).
        _wait_for(lambda: worker_threads(pid) == 1, 10, "one worker for the one session")
        # The frames coming back have the classes drawn: a dark band with light text over the photo's top.
        bands = component.locator("video").evaluate(_BANDS)
        assert bands is not None
        top, middle = (np.array(band, dtype=np.float32).reshape(-1, 4)[:, :3] for band in bands)
        assert np.median(top) < 40 < np.median(middle)  # mostly black, unlike the photo
        assert (top.min(axis=1) > 150).mean() > 0.002  # and some bright text pixels
        # Freeze: the frame becomes the sidebar's current image, with links to the other pages.
        page.get_by_role("button", name="Freeze this frame for the other pages").click()
        page.get_by_text("The frozen frame is now the current image of every page").wait_for(timeout=WAIT_MS)
        frozen = page.locator('[data-testid="stSidebar"] label:has-text("frozen frame") input')
        assert frozen.is_checked()
        component.get_by_role("button", name="Stop").click()
        _wait_for(lambda: worker_threads(pid) == 0, 10, "the worker to stop with the stream")
        assert page.locator('[data-testid="stException"]').count() == 0
        # Started again, then the visitor closes the tab mid-stream: its worker ends too.
        component.get_by_role("button", name="Start the camera").click()
        _wait_for(lambda: worker_threads(pid) == 1, WAIT_MS / 1000, "the stream to start again")
    finally:
        context.close()
    _wait_for(lambda: worker_threads(pid) == 0, 20, "the worker to end after the tab closed")
