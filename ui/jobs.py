"""Long work on a page: a button that says how long it will take, live progress with time left, a Stop
button, and a result that stays until what it was computed from changes.

The work runs as a :class:`cvviz.jobs.Job` in a background thread; a fragment redraws its progress
twice a second. The job and the inputs it was started with live in the session, so an unrelated click
(a display option, another widget) keeps the result on screen instead of wiping it.

Every job shares the app's slots (:data:`cvviz.jobs.SHARED_SLOTS`: at most one running job per CPU core,
the rest queued, their place shown), a browser session runs one job at a time (starting another stops
the first), and a job is bound to its session's state, so it stops when the session ends. In kiosk mode
every job is capped in time (:attr:`ui.kiosk.KioskSettings.job_time_limit`), and its progress says so.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st

from cvviz.i18n import _
from cvviz.jobs import SHARED_SLOTS, Job, describe_seconds
from ui.kiosk import kiosk_settings
from ui.language import apply_language

POLL_S = 0.5
ACTIVE = "jobs.active"
OWNER = "jobs.owner"


class _SessionOwner:
    """Lives in the session's state and dies with it; jobs bound to it are cancelled then."""


def _launch(job: Job) -> None:
    """Start ``job`` as this session's one job: stop the session's previous one, queue for a shared slot,
    and bind it to the session."""
    previous = st.session_state.get(ACTIVE)
    if previous is not None and previous is not job and not previous.status().finished:
        previous.cancel()
    if OWNER not in st.session_state:
        st.session_state[OWNER] = _SessionOwner()
    if job.slots is None:
        job.slots = SHARED_SLOTS
    limit = kiosk_settings().job_time_limit
    if limit is not None:
        job.time_limit_s = limit if job.time_limit_s is None else min(job.time_limit_s, limit)
    job.bind_to(st.session_state[OWNER])
    job.start()
    st.session_state[ACTIVE] = job


def _slot(key: str) -> dict | None:
    return st.session_state.get(f"{key}.job")


def long_run(
    key: str,
    label: str,
    inputs: Hashable,
    make_job: Callable[[], Job],
    *,
    estimate_s: float | None = None,
    disabled: bool = False,
) -> Any | None:
    """Offer to run ``make_job()``; show its progress while it runs; return its result once done.

    ``inputs`` names everything the result depends on (model, weights, image, parameters): a result
    computed from other inputs is not returned, and the button offers to run again. ``estimate_s`` is
    said on the button before anything starts.
    """
    slot = _slot(key)
    current = slot is not None and slot["inputs"] == inputs
    if slot is not None and not current and not slot["job"].status().finished:
        slot["job"].cancel()  # its inputs are gone: stop spending the CPU on it
    job: Job | None = slot["job"] if current else None
    running = job is not None and not job.status().finished
    if not running:
        when = describe_seconds(estimate_s)
        limit = kiosk_settings().job_time_limit
        if when and limit is not None and estimate_s is not None and estimate_s > limit:
            when = _("{estimate}; runs here stop after {seconds} s").format(
                estimate=when, seconds=f"{limit:g}"
            )
        text = _("{action} ({duration})").format(action=label, duration=when) if when else label
        if job is not None and job.status().state == "done":
            text = _("{action} again").format(action=label)
        button = st.empty()  # replaced by the progress once clicked
        if button.button(text, key=f"{key}.start", disabled=disabled):
            button.empty()
            if slot is not None and not slot["job"].status().finished:
                slot["job"].cancel()
            job = make_job()
            if job.estimate_s is None:
                job.estimate_s = estimate_s
            _launch(job)
            st.session_state[f"{key}.job"] = {"inputs": inputs, "job": job}
            running = True
    if running:
        _progress(key, job)
        return None
    if job is None:
        return None
    status = job.status()
    if status.state == "failed":
        st.error(status.error)
    elif status.state == "cancelled":
        st.info(
            _("Stopped after {duration}; nothing was kept.").format(
                duration=describe_seconds(status.elapsed_s)
            )
        )
    return job.result


def live_run(
    key: str,
    label: str,
    make_job: Callable[[], Job],
    live: Callable[[], None],
    *,
    disabled: bool = False,
) -> Job | None:
    """A button that starts ``make_job()``; while the job runs, its progress, a Stop button and
    ``live()`` (charts drawn from what the job has recorded so far) redraw twice a second.

    Returns the job once, on the first run after it finished (done, failed or stopped), so the page can
    keep its result; None otherwise.
    """
    slot = st.session_state.get(f"{key}.live")
    job: Job | None = slot["job"] if slot is not None else None
    if job is not None and not job.status().finished:
        _progress(key, job, live)
        return None
    if st.button(label, key=f"{key}.start", disabled=disabled, type="primary"):
        job = make_job()
        _launch(job)
        st.session_state[f"{key}.live"] = {"job": job, "taken": False}
        _progress(key, job, live)
        return None
    if slot is not None and not slot["taken"]:
        slot["taken"] = True
        return job
    return None


def _progress(key: str, job: Job, live: Callable[[], None] | None = None) -> None:
    @st.fragment(run_every=POLL_S)
    def progress() -> None:
        apply_language()  # a fragment rerun does not run the entry point, which sets it
        status = job.status()
        if status.finished:
            st.rerun(scope="app")
        if status.state == "queued":
            place = status.queue_position or 1
            text = _("Waiting for a free worker: number {place} in the queue.").format(place=place)
        else:
            left = describe_seconds(status.seconds_left)
            text = status.message or _("{task}…").format(task=job.title)
            text = _("{task} — {duration} left").format(task=text, duration=left) if left else text
            if job.time_limit_s is not None:
                text = _("{progress} (runs here stop after {seconds} s)").format(
                    progress=text, seconds=f"{job.time_limit_s:g}"
                )
        st.progress(status.fraction, text=text)
        if st.button(_("Stop"), key=f"{key}.stop", icon=":material/stop_circle:"):
            job.cancel()
        if live is not None:
            live()

    progress()
