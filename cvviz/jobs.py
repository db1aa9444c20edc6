"""Long work as jobs: run in a background thread, report progress and time left, and stop when asked.

The app and the CLI drive the same jobs. The work is a function that takes a :class:`Reporter` and
calls ``reporter.update(fraction, message)`` as it goes; ``update`` raises :class:`Cancelled` once
:meth:`Job.cancel` has been called, so the work stops at its next step and cleans up on the way out.
The worker thread only computes: it never touches the UI, which reads :meth:`Job.status` instead.

Jobs started with :class:`JobSlots` wait in a first-come queue until one of a fixed number of slots is
free (the app shares :data:`SHARED_SLOTS`, one per CPU core, among all its sessions), and say their place
in the queue meanwhile. A job bound to an owner (:meth:`Job.bind_to`, e.g. a browser session's state) is
cancelled when that owner is garbage-collected, so work nobody will read stops.

A job may be capped in time (``time_limit_s``, counted from when it starts running, not while queued): once
the time is up, the next progress report raises :class:`TimeLimitReached`, and the job fails with a
sentence that says so. Work that can end usefully on its own (a training run keeps what it has learned)
asks :attr:`Reporter.time_up` at each step and calls :meth:`Reporter.stops_itself` first, so its reports
do not raise.
"""

from __future__ import annotations

import contextvars
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from cvviz.errors import CvvizError
from cvviz.i18n import _

T = TypeVar("T")
JobState = Literal["waiting", "queued", "running", "done", "failed", "cancelled"]
"""``waiting``: not started; ``queued``: started, waiting for a free slot; then running and finished."""
MAX_JOBS_ENV = "CVVIZ_MAX_JOBS"
"""Environment variable: how many jobs the app runs at once (default: the number of CPU cores)."""


class Cancelled(CvvizError):
    """The job was stopped on request."""


class TimeLimitReached(CvvizError):
    """The job ran for as long as it may (its ``time_limit_s``)."""


class Reporter:
    """What the work calls to report progress; raises :class:`Cancelled` once the job is cancelled, and
    :class:`TimeLimitReached` once its time is up (unless the work :meth:`stops_itself`)."""

    def __init__(
        self,
        cancelled: threading.Event,
        on_update: Callable[[float, str], None] | None = None,
        *,
        time_limit_s: float | None = None,
        parent: Reporter | None = None,
    ) -> None:
        self._cancelled = cancelled
        self._on_update = on_update
        self._parent = parent
        self._time_limit_s = time_limit_s
        self._deadline = time.monotonic() + time_limit_s if time_limit_s is not None else None
        self._stops_itself = False
        self.fraction = 0.0
        self.message = ""

    @property
    def time_limit_s(self) -> float | None:
        """The job's cap in seconds, or None when it has none."""
        return self._parent.time_limit_s if self._parent is not None else self._time_limit_s

    @property
    def time_up(self) -> bool:
        """Whether the job has used all the time it may (never, without a cap)."""
        if self._parent is not None:
            return self._parent.time_up
        return self._deadline is not None and time.monotonic() >= self._deadline

    def stops_itself(self) -> None:
        """Declare that the work watches :attr:`time_up` and ends on its own, keeping what it has: this
        reporter's reports then no longer raise :class:`TimeLimitReached` (a parent's still do)."""
        self._stops_itself = True

    def update(self, fraction: float, message: str = "") -> None:
        """Record that ``fraction`` (0–1) of the work is done, doing ``message``; stop if cancelled."""
        self.check()
        self.fraction = min(max(float(fraction), 0.0), 1.0)
        self.message = message or self.message
        if self._on_update is not None:
            self._on_update(self.fraction, self.message)

    def part(self, start: float, end: float) -> Reporter:
        """A reporter for one part of the work (a fold, a trial): its 0–1 maps onto ``start``–``end`` of
        this one's, and it stops when this one's job is cancelled."""
        return Reporter(
            self._cancelled,
            lambda fraction, message: self.update(start + (end - start) * fraction, message),
            parent=self,
        )

    def check(self) -> None:
        """Raise :class:`Cancelled` if the job has been cancelled, :class:`TimeLimitReached` if its time is
        up (unless the work stops itself)."""
        if self._cancelled.is_set():
            raise Cancelled(_("Stopped on request."))
        if not self._stops_itself and self.time_up:
            raise TimeLimitReached(
                _("Stopped after {seconds} s, the longest a run may take here.").format(
                    seconds=f"{self.time_limit_s:g}"
                )
            )


class JobSlots:
    """At most ``capacity`` jobs run at once; the others wait in a first-come, first-served queue."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"A job cap must allow at least one job, not {capacity}.")
        self.capacity = capacity
        self._condition = threading.Condition()
        self._running = 0
        self._queue: list[object] = []

    def acquire(self, ticket: object, cancelled: threading.Event) -> bool:
        """Wait in line with ``ticket`` until a slot is free and take it (True), or until ``cancelled`` is
        set (False, leaving the queue)."""
        with self._condition:
            self._queue.append(ticket)
            try:
                while not (self._queue[0] is ticket and self._running < self.capacity):
                    if cancelled.is_set():
                        return False
                    self._condition.wait(0.05)
                self._running += 1
                return True
            finally:
                self._queue.remove(ticket)
                self._condition.notify_all()

    def release(self) -> None:
        """Give a slot back (once per successful :meth:`acquire`)."""
        with self._condition:
            self._running -= 1
            self._condition.notify_all()

    def position(self, ticket: object) -> int | None:
        """``ticket``'s place in the queue (1 = next to run), or None when it is not waiting."""
        with self._condition:
            for place, waiting in enumerate(self._queue, start=1):
                if waiting is ticket:
                    return place
        return None

    @property
    def running(self) -> int:
        with self._condition:
            return self._running

    @property
    def waiting(self) -> int:
        with self._condition:
            return len(self._queue)


def _default_capacity() -> int:
    configured = os.environ.get(MAX_JOBS_ENV, "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return os.cpu_count() or 1


SHARED_SLOTS = JobSlots(_default_capacity())
"""The slots every session of the app shares."""


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of a job: its state, progress (0–1), what it is doing, seconds so far and left.

    ``seconds_left`` extrapolates from the progress so far, or is the estimate given when the job was
    made until there is progress to go on, never beyond the job's time limit; None when none is known.
    """

    state: JobState
    fraction: float
    message: str
    elapsed_s: float
    seconds_left: float | None
    error: str | None = None
    queue_position: int | None = None
    """While queued: the place in the queue (1 = next to run); None otherwise."""

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")


class Job(Generic[T]):
    """``work(reporter)`` run once, in a daemon thread (:meth:`start`) or in the caller's (:meth:`run`).

    ``estimate_s`` is how long the work is expected to take, said before it starts. With ``slots``, the
    work waits (state ``queued``) until a slot is free; the clock starts when it runs. ``time_limit_s``
    caps the running time (see the module docstring). A
    :class:`cvviz.errors.CvvizError` from the work fails the job with its sentence; any other exception
    fails it with a short sentence naming the exception (the job never takes the app down).
    """

    def __init__(
        self,
        title: str,
        work: Callable[[Reporter], T],
        *,
        estimate_s: float | None = None,
        slots: JobSlots | None = None,
        time_limit_s: float | None = None,
    ) -> None:
        self.title = title
        self.estimate_s = estimate_s
        self.slots = slots
        self.time_limit_s = time_limit_s
        self._work = work
        self._cancelled = threading.Event()
        self._reporter = Reporter(self._cancelled)
        self._state: JobState = "waiting"
        self._started: float | None = None
        self._finished: float | None = None
        self._result: T | None = None
        self._error: str | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> Job[T]:
        """Run the work in a background thread; returns at once."""
        with self._lock:
            if self._state != "waiting":
                return self
            self._state = "queued" if self.slots is not None else "running"
            self._started = time.monotonic()
        # The starter's context (its language, above all) goes with the work into its thread.
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._execute,), name=f"cvviz job: {self.title}", daemon=True
        )
        self._thread.start()
        return self

    def run(self, reporter_callback: Callable[[float, str], None] | None = None) -> T:
        """Run the work here and now and return its result (raising what it raised; the CLI's way)."""
        with self._lock:
            self._state = "running"
            self._started = time.monotonic()
        self._reporter = Reporter(self._cancelled, reporter_callback, time_limit_s=self.time_limit_s)
        try:
            self._result = self._work(self._reporter)
        except Cancelled:
            self._finish("cancelled", None)
            raise
        except CvvizError as exc:
            self._finish("failed", str(exc))
            raise
        self._finish("done", None)
        return self._result

    def bind_to(self, owner: object) -> Job[T]:
        """Cancel this job once ``owner`` is garbage-collected (the job keeps no reference to it)."""
        weakref.finalize(owner, self._cancelled.set)
        return self

    def _execute(self) -> None:
        if self.slots is None:
            self._reporter = Reporter(self._cancelled, time_limit_s=self.time_limit_s)
            self._work_and_finish()
            return
        if not self.slots.acquire(self, self._cancelled):
            self._finish("cancelled", None)
            return
        try:
            with self._lock:
                self._state = "running"
                self._started = time.monotonic()
                self._reporter = Reporter(self._cancelled, time_limit_s=self.time_limit_s)
            self._work_and_finish()
        finally:
            self.slots.release()

    def _work_and_finish(self) -> None:
        try:
            self._result = self._work(self._reporter)
        except Cancelled:
            self._finish("cancelled", None)
        except CvvizError as exc:
            self._finish("failed", str(exc))
        except Exception as exc:  # the job must never take the app down with it
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._finish("failed", f"{self.title} failed: {reason}")
        else:
            self._finish("done", None)

    def _finish(self, state: JobState, error: str | None) -> None:
        with self._lock:
            self._state = state
            self._error = error
            self._finished = time.monotonic()

    def cancel(self) -> None:
        """Ask the work to stop at its next progress report."""
        self._cancelled.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished (or ``timeout`` seconds passed); True if it has finished."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status().finished

    @property
    def result(self) -> T | None:
        """The work's return value once the job is done, else None."""
        return self._result if self._state == "done" else None

    def status(self) -> JobStatus:
        with self._lock:
            state, error, started, finished = self._state, self._error, self._started, self._finished
        fraction, message = self._reporter.fraction, self._reporter.message
        now = finished if finished is not None else time.monotonic()
        elapsed = now - started if started is not None else 0.0
        position = self.slots.position(self) if state == "queued" and self.slots is not None else None
        if state == "queued":
            elapsed = 0.0
        if state in ("done", "failed", "cancelled"):
            left: float | None = 0.0
        elif fraction > 0.02 and elapsed > 0.5:
            left = elapsed * (1.0 - fraction) / fraction
        elif self.estimate_s is not None:
            left = max(self.estimate_s - elapsed, 0.0)
        else:
            left = None
        if self.time_limit_s is not None and state in ("queued", "running"):
            cap = max(self.time_limit_s - elapsed, 0.0)
            left = cap if left is None else min(left, cap)
        return JobStatus(state, 1.0 if state == "done" else fraction, message, elapsed, left, error, position)


def describe_seconds(seconds: float | None) -> str:
    """A duration as people say it: "about 40 s", "about 3 min", or "" when unknown."""
    if seconds is None:
        return ""
    if seconds < 1.5:
        return _("about a second")
    if seconds < 90:
        return _("about {seconds} s").format(seconds=round(seconds))
    return _("about {minutes} min").format(minutes=round(seconds / 60))
