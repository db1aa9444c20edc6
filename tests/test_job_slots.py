"""A cap on concurrent jobs with a visible queue, and jobs that stop when their owner is gone."""

from __future__ import annotations

import gc
import threading
import time

import pytest

from cvviz.jobs import Cancelled, Job, JobSlots


def _until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_the_cap_runs_at_most_that_many_jobs_and_queues_the_rest_in_order():
    slots = JobSlots(2)
    meet = threading.Barrier(2, timeout=5)  # jobs meet in pairs: the first two run at the same time
    release = threading.Event()
    active, most, lock = [0], [0], threading.Lock()

    def work(reporter):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        try:
            meet.wait()
            release.wait(5)
        finally:
            with lock:
                active[0] -= 1
        return "ok"

    jobs = []
    for index in range(4):
        jobs.append(Job(f"job {index}", work, slots=slots).start())
        assert _until(lambda n=index + 1: slots.running + slots.waiting == n)  # start in a known order
    assert _until(lambda: slots.running == 2 and slots.waiting == 2)
    states = [job.status() for job in jobs]
    assert [s.state for s in states] == ["running", "running", "queued", "queued"]
    assert [s.queue_position for s in states] == [None, None, 1, 2]
    release.set()
    assert all(job.wait(5) for job in jobs)
    assert [job.result for job in jobs] == ["ok"] * 4
    assert most[0] == 2 and slots.running == 0 and slots.waiting == 0


def test_a_queued_job_cancelled_leaves_the_queue_without_running():
    slots = JobSlots(1)
    release = threading.Event()
    ran = []
    first = Job("first", lambda reporter: release.wait(5), slots=slots).start()
    second = Job("second", lambda reporter: ran.append(True), slots=slots).start()
    assert _until(lambda: second.status().queue_position == 1)
    second.cancel()
    assert second.wait(5) and second.status().state == "cancelled"
    assert slots.waiting == 0
    release.set()
    assert first.wait(5) and ran == []


def test_a_job_stops_when_its_owner_is_garbage_collected():
    class Owner:
        pass

    owner = Owner()
    steps = []

    def work(reporter):
        for step in range(500):
            reporter.update(step / 500)
            steps.append(step)
            time.sleep(0.01)

    job = Job("owned", work).bind_to(owner).start()
    assert _until(lambda: len(steps) > 2)
    del owner
    gc.collect()
    assert job.wait(5) and job.status().state == "cancelled" and len(steps) < 500


def test_a_cap_below_one_is_refused():
    with pytest.raises(ValueError, match="at least one"):
        JobSlots(0)


def test_a_part_reporter_maps_its_progress_and_stops_with_its_job():
    seen = []

    def work(reporter):
        second = reporter.part(0.5, 1.0)
        second.update(0.5, "half of the second half")
        seen.append(reporter.fraction)
        reporter.check()

    Job("parts", work).run()
    assert seen == [0.75]
    job = Job("cancelled", lambda reporter: reporter.part(0.0, 0.5).update(0.1))
    job.cancel()
    with pytest.raises(Cancelled):
        job.run()
