"""Benchmark: how soon a freshly started server shows its first page, against the import floor.

Run with ``python -m benchmarks.first_page [--runs N] [--path /]`` (needs Debian's chromium and
Playwright, as the browser tests do). Each run starts ``streamlit run app.py`` afresh, waits until
``/_stcore/health`` answers, then opens the page in headless Chromium and records:

* **first content** — the page title is on screen;
* **fully drawn** — the timeline and the prediction are drawn and the script has finished.

The floor is what a fresh Python needs to import torch, torchvision, streamlit and plotly, timed in a
subprocess the same number of times. The catalog figures are persisted once before the runs (as on any
server after its first start). Results are recorded in ``docs/benchmarks.md`` under "First page".
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.live_app import ROOT, chromium, serve_app

IMPORTS = "import torch, torchvision, streamlit, plotly.graph_objects"


def floor_seconds() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", IMPORTS], check=True)
    return time.perf_counter() - start


def one_run(browser, path: str, env: dict) -> tuple[float, float]:
    with serve_app(env) as (url, _):
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        start = time.perf_counter()
        page.goto(url + path, wait_until="commit")
        page.wait_for_selector("h1", timeout=120_000)
        first = time.perf_counter() - start
        page.wait_for_function(
            """() => document.querySelectorAll('.js-plotly-plot').length >= 2
                && !document.querySelector('[data-testid="stStatusWidget"]')""",
            timeout=120_000,
            polling=50,
        )
        full = time.perf_counter() - start
        page.close()
        return first, full


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--path", default="/", help="the page to open, e.g. / or /saliency")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "CVVIZ_CACHE_DIR": cache, "CVVIZ_OFFLINE": "1"}
        subprocess.run([sys.executable, "-m", "cvviz", "models"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        floors, firsts, fulls = [], [], []
        with chromium() as browser:
            for _ in range(args.runs):
                floors.append(floor_seconds())
                first, full = one_run(browser, args.path, env)
                firsts.append(first)
                fulls.append(full)
    floor, first, full = (statistics.median(v) for v in (floors, firsts, fulls))
    print(f"page {args.path}, {args.runs} runs, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"import floor ({IMPORTS}): median {floor:.2f} s")
    print(f"first content: median {first:.2f} s   (runs: {', '.join(f'{t:.2f}' for t in firsts)})")
    print(
        f"fully drawn:   median {full:.2f} s = {full / floor:.2f}× the floor (runs: {', '.join(f'{t:.2f}' for t in fulls)})"
    )


if __name__ == "__main__":
    main()
