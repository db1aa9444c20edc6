"""Benchmark: a classroom at once — N concurrent browser sessions against one server.

Run with ``python -m benchmarks.many_visitors [--sessions 30]`` (needs Debian's chromium and Playwright).
Starts ``streamlit run app.py`` (offline, catalog figures persisted, ``CVVIZ_MODEL_CACHE_MB`` as given),
then opens N browser contexts in one headless Chromium, all at once. Each session opens the first page,
switches the model (the sessions share three models among them), uploads a photo, opens the saliency page
(which runs Grad-CAM on the upload) and switches the model there. Every step is timed from the action to
the page idle again; a session fails if it shows an exception or a step draws no figure. The server's
memory is read from ``/proc/<pid>/status`` throughout: its resident size before the sessions, its peak
(VmHWM), and the allowance per session that the difference implies once the models are loaded (three
warm-up sessions, one per model, load them first). Prints
p50/p95 per step; recorded in ``docs/benchmarks.md`` under "Many visitors".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.live_app import BROWSER_FLAGS, CHROMIUM, IDLE, ROOT, serve_app

TIMEOUT_MS = 900_000
MODELS = ("SqueezeNet 1.1 · SqueezeNet", "ResNet-18 · ResNet", "MobileNet V3 Small · MobileNet")
MODEL_NAMES = ("squeezenet1_1", "resnet18", "mobilenet_v3_small")
FIGURE = "[data-testid='stMain'] .js-plotly-plot"


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def settle(page) -> None:
    await page.wait_for_selector('[data-testid="stMain"]', timeout=TIMEOUT_MS)
    for _ in range(2):
        await page.wait_for_timeout(500)
        await page.wait_for_function(IDLE, timeout=TIMEOUT_MS, polling=250)


async def choose_model(page, title: str) -> None:
    await page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    await page.keyboard.type(title)
    await page.keyboard.press("Enter")


async def session(browser, url: str, index: int, photo: str, times: dict[str, list[float]]) -> str | None:
    """One visitor's steps; returns None, or what went wrong."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)  # clicks wait for a busy server as long as page loads do
    page = await context.new_page()

    async def step(name: str, action) -> None:
        start = time.perf_counter()
        await action()
        await settle(page)
        exceptions = page.locator('[data-testid="stException"]')
        if await exceptions.count():
            raise RuntimeError(f"{name}: {(await exceptions.first.inner_text())[:200]}")
        await page.wait_for_selector(FIGURE, timeout=TIMEOUT_MS)
        times.setdefault(name, []).append(time.perf_counter() - start)

    async def upload() -> None:
        radio = page.locator('[data-testid="stSidebar"] [role="radiogroup"]').get_by_text(
            "upload", exact=True
        )
        await radio.click()
        await settle(page)
        await page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(photo)

    async def saliency() -> None:
        await page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Saliency").click()
        await page.wait_for_url("**/saliency", timeout=TIMEOUT_MS)

    try:
        await step("open the first page", lambda: page.goto(url, timeout=TIMEOUT_MS))
        await step("switch model", lambda: choose_model(page, MODELS[index % 3]))
        await step("upload a photo", upload)
        await step("saliency page (Grad-CAM)", saliency)
        await step("switch model on saliency", lambda: choose_model(page, MODELS[(index + 1) % 3]))
        return None
    except Exception as exc:  # a failed session is counted and reported, the others go on
        return f"session {index}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
    finally:
        await context.close()


async def visit(url: str, sessions: int, photo: str) -> tuple[dict[str, list[float]], list[str], float]:
    from playwright.async_api import async_playwright

    times: dict[str, list[float]] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS)
        try:
            start = time.perf_counter()
            outcomes = await asyncio.gather(
                *(session(browser, url, i, photo, times) for i in range(sessions))
            )
            wall = time.perf_counter() - start
        finally:
            await browser.close()
    return times, [o for o in outcomes if o], wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--model-cache-mb", type=int, default=1024, help="CVVIZ_MODEL_CACHE_MB of the server")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    from cvviz.catalog import get_spec
    from cvviz.data.images import sample_images
    from cvviz.models.build import build_on_meta

    photo = str(next(sample for sample in sample_images() if sample.name == "cat").path)
    model_mib = sum(
        sum(p.numel() * p.element_size() for p in build_on_meta(get_spec(name)).parameters()) / 2**20
        for name in MODEL_NAMES
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {
            "CVVIZ_CACHE_DIR": cache,
            "CVVIZ_OFFLINE": "1",
            "CVVIZ_MODEL_CACHE_MB": str(args.model_cache_mb),
        }
        subprocess.run([sys.executable, "-m", "cvviz", "models"], cwd=ROOT, env={**os.environ, **env},
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        with serve_app(env) as (url, pid):
            # Three visitors first, one per model, so torch, the catalog and the three models are loaded:
            # what the N sessions add beyond that is their own.
            _, warm_failures, warm_wall = asyncio.run(visit(url, 3, photo))
            before = memory_kib(pid, "VmRSS")
            samples: list[int] = []
            done = threading.Event()

            def sample() -> None:
                while not done.wait(0.5):
                    samples.append(memory_kib(pid, "VmRSS"))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            times, failures, wall = asyncio.run(visit(url, args.sessions, photo))
            done.set()
            sampler.join()
            peak = memory_kib(pid, "VmHWM")
    load = os.getloadavg()[0]
    added = (peak - before) / 1024
    per_session = max(added, 0.0) / args.sessions
    failures = warm_failures + failures
    print(f"{os.cpu_count()} cores, load {load:.1f}; warm-up (3 sessions, one per model) {warm_wall:.0f} s; "
          f"then {args.sessions} sessions at once, {wall:.0f} s in all")  # fmt: skip
    for name, values in times.items():
        print(f"{name:28s} p50 {statistics.median(values):6.2f} s   p95 {percentile(values, 0.95):6.2f} s"
              f"   ({len(values)} sessions)")  # fmt: skip
    print(f"server RSS after the warm-up {before / 1024:.0f} MiB (the three models' fp32 weights: "
          f"{model_mib:.0f} MiB), peak during the sessions {peak / 1024:.0f} MiB (+{added:.0f} MiB): "
          f"{per_session:.1f} MiB per session")  # fmt: skip
    print(f"failed sessions: {len(failures)}")
    for failure in failures:
        print("  " + failure)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "sessions": args.sessions, "wall_s": wall, "load": load, "times": times, "failures": failures,
            "rss_before_mib": before / 1024, "rss_peak_mib": peak / 1024, "models_mib": model_mib,
            "per_session_mib": per_session, "rss_samples_mib": [s / 1024 for s in samples],
        }, indent=1))  # fmt: skip
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
