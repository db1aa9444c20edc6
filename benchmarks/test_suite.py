"""Benchmark: the whole test suite's wall time and peak memory, as the README's test command runs it.

Run with ``python -m benchmarks.test_suite [pytest arguments]``. It starts ``python -m pytest`` and, twice
a second, sums the resident memory of that process and every process below it (streamlit servers,
Chromium, CLI subprocesses), read from ``/proc``. It prints the wall time, the peak of that sum and the
peak of the largest pytest process (the controller or one of its xdist workers, which are its direct
children). Results are recorded in ``docs/benchmarks.md`` under "Test suite".
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def _children() -> dict[int, list[int]]:
    """Every live process's children, from each ``/proc/PID/stat``'s parent field."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _rss_kib(pid: int) -> int:
    try:
        return int((Path("/proc") / str(pid) / "statm").read_text().split()[1]) * PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss_kib(root: int) -> tuple[int, int]:
    """(resident KiB of ``root`` and all its descendants, resident KiB of the largest of ``root`` and its
    direct children: the pytest controller and its workers)."""
    tree, total, stack = _children(), 0, [root]
    while stack:
        pid = stack.pop()
        total += _rss_kib(pid)
        stack.extend(tree.get(pid, []))
    return total, max(_rss_kib(pid) for pid in [root, *tree.get(root, [])])


def main(argv: list[str]) -> int:
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "pytest", "-q", *argv])
    peak_tree = peak_pytest = 0
    while process.poll() is None:
        total, own = tree_rss_kib(process.pid)
        peak_tree, peak_pytest = max(peak_tree, total), max(peak_pytest, own)
        time.sleep(0.5)
    wall = time.perf_counter() - start
    print(
        f"test suite: exit {process.returncode}, {wall / 60:.1f} min wall, peak resident "
        f"{peak_tree / 2**20:.2f} GiB for pytest and its children ({peak_pytest / 2**20:.2f} GiB the largest pytest process)"
    )
    return process.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
