"""The app running for real: ``streamlit run app.py`` on a free loopback port, and headless Chromium.

Shared by the browser tests and the browser benchmarks, so both start, poll and stop the server the
same way and read "the page is idle" the same way.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# A script run is over when Streamlit shows no running indicator and no stale (faded) element.
IDLE = """() => !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-stale="true"]')"""
BUSY = """() => !!document.querySelector('[data-testid="stStatusWidget"]')
    || !!document.querySelector('[data-stale="true"]')"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_app(
    environment: dict[str, str] | None = None, *, log: Path | None = None, timeout_s: float = 120
) -> Iterator[tuple[str, int]]:
    """Run the app until the block ends; yields ``(url, server pid)`` once ``/_stcore/health`` answers.

    ``environment`` is added to this process's; the server's output goes to ``log`` (or nowhere).
    """
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true"]  # fmt: skip
    env = {**os.environ, **(environment or {})}
    with open(log, "w") if log else open(os.devnull, "w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                tail = log.read_text()[-2000:] if log else "(no log kept)"
                raise RuntimeError(f"streamlit did not become healthy: {tail}")
            time.sleep(0.05)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """Debian's Chromium, headless, through Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
