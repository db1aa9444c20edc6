"""The Docker image's entry command, taken from the Dockerfile itself, serves the app and answers the
image's own health check (Docker is not needed: the command runs here on a free loopback port)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from benchmarks.live_app import free_port

ROOT = Path(__file__).resolve().parent.parent


def dockerfile_instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` in order, continuation lines joined and comments left out."""
    logical, current = [], ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    return [tuple(text.strip().split(None, 1)) for text in logical]


def test_dockerfile_entry_command_serves_the_app_and_passes_its_health_check(tmp_path):
    instructions = dockerfile_instructions()
    environment = {}
    for name, arguments in instructions:
        if name == "ENV":
            environment.update(pair.split("=", 1) for pair in shlex.split(arguments))
    [command] = [json.loads(arguments) for name, arguments in instructions if name == "CMD"]
    [health] = [arguments for name, arguments in instructions if name == "HEALTHCHECK"]
    assert command[:3] == ["streamlit", "run", "app.py"] and "--server.headless=true" in command
    probe = health.split(" CMD ", 1)[1]  # after the options: a shell command
    assert "/_stcore/health" in probe

    port = free_port()
    environment.update(
        STREAMLIT_SERVER_PORT=str(port),
        STREAMLIT_SERVER_ADDRESS="127.0.0.1",  # the image listens on every interface; a test, on loopback
        TORCH_HOME=str(tmp_path / "torch"),
        CVVIZ_CACHE_DIR=str(tmp_path / "cache"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )
    env = {**os.environ, **environment}
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while subprocess.run(["sh", "-c", probe], env=env, capture_output=True).returncode != 0:
            assert server.poll() is None, server.stdout.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the health check never passed"
            time.sleep(0.2)
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read().decode()
        assert "<html" in page.lower()
    finally:
        server.terminate()
        server.wait(timeout=30)
    # And the probe fails once the server is gone, so it is not trivially true.
    assert subprocess.run(["sh", "-c", probe], env=env, capture_output=True).returncode != 0
