"""The catalog figures' worker processes: they must start whatever script is running as ``__main__``."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import sys
import types
from concurrent.futures.process import BrokenProcessPool

import pytest

from cvviz.measure.catalog_figures import _main_script_hidden


@pytest.fixture
def page_as_main(tmp_path, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """``__main__`` as Streamlit leaves it while a page runs: the page's module, with its file."""
    script = tmp_path / "page.py"
    script.write_text("raise SystemExit(3)  # a page that cannot run outside its server\n")
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page)
    return page


def _start_one_worker(hide_main: bool) -> int:
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        if hide_main:
            with _main_script_hidden():
                future = pool.submit(os.getpid)
        else:
            future = pool.submit(os.getpid)
        return future.result(timeout=120)


def test_spawned_workers_start_without_re_running_the_page_script(page_as_main):
    # Without the guard the worker re-runs the page, which exits, and the pool breaks: what a stale
    # figures cache did to the first page that asked for them.
    with pytest.raises(BrokenProcessPool):
        _start_one_worker(hide_main=False)
    assert _start_one_worker(hide_main=True) != os.getpid()
    assert sys.modules["__main__"] is page_as_main  # put back afterwards
