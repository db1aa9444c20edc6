"""A bounded load test: one server on loopback, several visitors at once over Streamlit's own websocket
protocol (``benchmarks.app_sessions``), each opening pages, switching among three small models,
uploading a photo and running Grad-CAM. Every visitor must see its figures and no exception, each model
must be built once however many visitors ask for it at the same moment, and the server's peak memory
must stay within the model cache setting plus an allowance per session.

The classroom of 30 is ``python -m benchmarks.app_sessions --sessions 30`` (and, with browsers,
``python -m benchmarks.many_visitors``); this is its small sibling, sized for the suite's time budget.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from benchmarks.app_sessions import MODEL_NAMES, classroom, memory_kib, server_environment, visit
from benchmarks.live_app import serve_app
from cvviz.data.images import sample_images

SESSIONS = 6
MODEL_CACHE_MB = 64
SESSION_ALLOWANCE_MB = 25
"""Memory a visitor may add beyond the models, as docs/benchmarks.md ("Many visitors") budgets it: its
page state and upload, and while Grad-CAM runs a private copy of a small model and its activations."""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("many_visitors")
    with serve_app(server_environment(scratch, MODEL_CACHE_MB), log=scratch / "streamlit.log") as running:
        yield (*running, scratch / "workbench.json")


def test_concurrent_visitors_see_their_figures_share_one_copy_of_each_model_and_stay_in_memory(served):
    url, pid, stats_file = served
    photo = next(sample for sample in sample_images() if sample.name == "cat").path.read_bytes()
    # One visitor first, on the default model, pays the one-off costs (torch, the saliency library, the
    # default model): what the visitors at once add beyond that is their own.
    asyncio.run(visit(url, 0, photo, ("EfficientNet-Lite0",)))
    before = memory_kib(pid, "VmRSS")

    outcomes = asyncio.run(classroom(url, SESSIONS, photo))

    peak = memory_kib(pid, "VmHWM")
    failures = [str(outcome) for outcome in outcomes if isinstance(outcome, BaseException)]
    assert not failures, failures  # every visitor saw its figures, its models and no exception
    stats = json.loads(stats_file.read_text())
    for name in MODEL_NAMES:  # six visitors, two at once on each model: one copy built of each
        # (offline with no weights cached, each loads with random weights: the key says which)
        assert sum(n for key, n in stats["builds"].items() if key.startswith(f"{name}/")) == 1, stats
    assert all(count == 1 for count in stats["builds"].values()), stats
    assert stats["model_bytes"] <= MODEL_CACHE_MB * 2**20, stats
    added_mib = (peak - before) / 1024
    assert added_mib <= MODEL_CACHE_MB + SESSIONS * SESSION_ALLOWANCE_MB, f"peak grew {added_mib:.0f} MiB"
