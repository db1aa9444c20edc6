"""Jobs: long work in a background thread with progress, time left and cancel."""

from __future__ import annotations

import threading
import time

import pytest

from cvviz.errors import CvvizError
from cvviz.jobs import Cancelled, Job, describe_seconds


def _steps(count: int, pause: float, reached: list | None = None):
    def work(reporter):
        for step in range(count):
            time.sleep(pause)
            reporter.update((step + 1) / count, f"step {step + 1}")
            if reached is not None:
                reached.append(step)
        return "finished"

    return work


def test_job_runs_in_the_background_and_reports_progress_then_its_result():
    job = Job("steps", _steps(5, 0.02)).start()
    assert job.wait(timeout=5)
    status = job.status()
    assert status.state == "done" and status.fraction == 1.0 and status.message == "step 5"
    assert status.seconds_left == 0.0 and job.result == "finished"


def test_cancel_stops_the_work_at_its_next_step():
    reached: list[int] = []
    gate = threading.Event()

    def work(reporter):
        gate.wait(5)
        return _steps(100, 0.01, reached)(reporter)

    job = Job("long", work).start()
    job.cancel()
    gate.set()
    assert job.wait(timeout=5)
    assert job.status().state == "cancelled" and job.result is None
    assert reached == []  # the first progress report saw the request and stopped the work


def test_time_left_comes_from_the_estimate_then_from_progress():
    release, finish = threading.Event(), threading.Event()

    def work(reporter):
        release.wait(5)
        time.sleep(0.6)
        reporter.update(0.5, "half")
        finish.wait(5)

    job = Job("estimated", work, estimate_s=30.0).start()
    first = job.status()
    assert first.state == "running" and 29.0 < first.seconds_left <= 30.0
    release.set()
    time.sleep(0.8)
    later = job.status()  # half done after ~0.6 s: about as long again
    assert later.state == "running" and later.seconds_left == pytest.approx(later.elapsed_s, rel=0.3)
    finish.set()
    job.wait(5)


def test_a_failing_job_says_one_sentence_and_never_raises_in_the_thread():
    def fails_with_sentence(reporter):
        raise CvvizError("The GPU ran out of memory.")

    def crashes(reporter):
        raise RuntimeError("boom\nwith a second line")

    one = Job("sentence", fails_with_sentence).start()
    two = Job("crash", crashes).start()
    assert one.wait(5) and two.wait(5)
    assert one.status().state == "failed" and one.status().error == "The GPU ran out of memory."
    assert two.status().error == "crash failed: boom"


def test_run_in_the_callers_thread_reports_and_raises_cancelled():
    seen = []
    job = Job("here", _steps(3, 0.0))
    assert job.run(lambda fraction, message: seen.append((fraction, message))) == "finished"
    assert seen[-1] == (1.0, "step 3")
    stopped = Job("stopped", _steps(3, 0.0))
    stopped.cancel()
    with pytest.raises(Cancelled):
        stopped.run()
    assert stopped.status().state == "cancelled"


def test_describe_seconds_speaks_plainly():
    assert describe_seconds(None) == ""
    assert describe_seconds(0.4) == "about a second"
    assert describe_seconds(33.2) == "about 33 s"
    assert describe_seconds(600) == "about 10 min"


def test_a_job_past_its_time_limit_stops_with_one_sentence_and_says_the_time_left():
    job = Job("capped", _steps(400, 0.01), time_limit_s=0.3, estimate_s=60.0).start()
    status = job.status()
    assert status.seconds_left is None or status.seconds_left <= 0.3
    assert job.wait(timeout=5)
    status = job.status()
    assert status.state == "failed" and job.result is None
    assert status.error == "Stopped after 0.3 s, the longest a run may take here."
    assert 0.3 <= status.elapsed_s < 2


def test_work_that_stops_itself_at_the_time_limit_finishes_with_what_it_has():
    def work(reporter):
        reporter.stops_itself()
        done = 0
        while not reporter.time_up:
            time.sleep(0.01)
            done += 1
            reporter.update(0.5, "working")  # does not raise: the work ends itself
        return done

    job = Job("self-stopping", work, time_limit_s=0.2)
    assert job.run() > 0 and job.status().state == "done"
    parent = Job("parts", lambda reporter: reporter.part(0, 1).update(0.5), time_limit_s=0.0)
    with pytest.raises(CvvizError, match="longest a run may take"):
        parent.run()  # a part's report goes through its parent, which has not said it stops itself
