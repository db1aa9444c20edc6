"""Benchmark: how long typical display-only interactions take to redraw, in a real browser.

Run with ``python -m benchmarks.interactions [--repeats N]`` (needs Debian's chromium and Playwright).
Starts ``streamlit run app.py`` (offline, catalog figures persisted), opens each page once so that its
results are computed, then repeats interactions that change only what is shown — a saliency view and
the overlay opacity, the sanity check's similarity measure, an attention head, the enlarged feature-map
channel, the timeline's axis — and times each from the input to the page being idle again. Prints
p50/p95 per interaction; recorded in ``docs/benchmarks.md`` under "Interactions".
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.live_app import BUSY, IDLE, ROOT, chromium, serve_app


def settle(page) -> None:
    page.wait_for_selector('[data-testid="stMain"]', timeout=600_000)
    for _ in range(2):
        page.wait_for_timeout(800)
        page.wait_for_function(IDLE, timeout=600_000, polling=100)


def timed(page, action) -> float:
    """Seconds from ``action()`` to the page idle again."""
    start = time.perf_counter()
    action()
    with contextlib.suppress(Exception):  # a rerun can finish before it is seen busy (then ≤ 0.15 s)
        page.wait_for_function(BUSY, timeout=150, polling=10)
    page.wait_for_function(IDLE, timeout=600_000, polling=20)
    return time.perf_counter() - start


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "CVVIZ_CACHE_DIR": cache, "CVVIZ_OFFLINE": "1"}
        subprocess.run(
            [sys.executable, "-m", "cvviz", "models"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with serve_app(env) as (url, _):
            results = run(url, args.repeats)
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, {args.repeats} repeats each")
    for name, times in results.items():
        print(f"{name:45s} p50 {statistics.median(times):.2f} s   p95 {percentile(times, 0.95):.2f} s")


def run(url: str, repeats: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 1000})

        page.goto(url, timeout=600_000)
        settle(page)
        axis = [page.get_by_text("ImageNet top-1", exact=True), page.get_by_text("parameters", exact=True)]
        results["home: timeline axis"] = [timed(page, axis[i % 2].first.click) for i in range(repeats)]

        page.goto(f"{url}/saliency", timeout=600_000)
        settle(page)
        views = ["positive", "absolute"]
        results["saliency: view"] = [
            timed(page, page.get_by_text(views[i % 2], exact=True).first.click) for i in range(repeats)
        ]
        slider = page.get_by_role("slider", name="Overlay opacity")
        keys = ["ArrowLeft", "ArrowRight"]
        results["saliency: overlay opacity"] = [
            timed(page, lambda i=i: slider.press(keys[i % 2])) for i in range(repeats)
        ]
        page.locator("button", has_text="Run sanity check").click()
        page.get_by_text("spearman", exact=True).wait_for(timeout=600_000)
        settle(page)
        measures = ["ssim", "spearman"]
        results["saliency: sanity similarity"] = [
            timed(page, page.get_by_text(measures[i % 2], exact=True).first.click) for i in range(repeats)
        ]

        page.goto(f"{url}/feature_maps", timeout=600_000)
        settle(page)
        box = page.get_by_label("Enlarge channel")

        def pick_channel(i: int) -> None:
            box.click()
            page.keyboard.press("ArrowDown" if i % 2 == 0 else "ArrowUp")
            page.keyboard.press("Enter")

        results["feature maps: enlarged channel"] = [
            timed(page, lambda i=i: pick_channel(i)) for i in range(repeats)
        ]
        browser.close()
    return results


if __name__ == "__main__":
    main()
