"""The production worker runs inbox drains in its own process and any other job in a forked work-horse,
takes its queues in turn, and tells a job in hand when another queue has work or a stop was asked."""

from __future__ import annotations

import os

from rq import Queue

from sync.worker import RuntimeWorker, make_worker


def pid_of_the_process(_runtime) -> int:  # type: ignore[no-untyped-def]
    """A job (enqueued by its dotted path) that returns the pid it ran in."""
    return os.getpid()


def test_inbound_jobs_run_in_the_worker_and_others_in_a_work_horse(runtime, redis_client) -> None:  # type: ignore[no-untyped-def]
    path = f"{__name__}.pid_of_the_process"
    inline = Queue("inbound", connection=redis_client).enqueue(path)
    forked = Queue("maintenance", connection=redis_client).enqueue(path)
    worker = make_worker(runtime, ["inbound", "maintenance"], connection=redis_client)
    assert isinstance(worker, RuntimeWorker)

    worker.work(burst=True)

    inline.refresh()
    forked.refresh()
    assert inline.get_status() == "finished" and forked.get_status() == "finished", forked.latest_result()
    assert inline.return_value() == os.getpid()
    assert forked.return_value() not in (None, os.getpid())


def test_a_job_in_hand_hears_of_other_queues_work_and_of_a_stop(runtime, redis_client) -> None:  # type: ignore[no-untyped-def]
    worker = make_worker(runtime, ["inbound", "outbound"], connection=redis_client)
    assert isinstance(worker, RuntimeWorker)
    Queue("inbound", connection=redis_client).enqueue(f"{__name__}.pid_of_the_process")
    assert not worker.should_hand_back("inbound")  # only its own queue has work: the drain may go on
    Queue("outbound", connection=redis_client).enqueue(f"{__name__}.pid_of_the_process")
    assert worker.should_hand_back("inbound")
    alone = make_worker(runtime, ["inbound"], connection=redis_client)
    assert isinstance(alone, RuntimeWorker)
    assert not alone.should_hand_back("inbound")
    alone._stop_requested = True  # what RQ sets on SIGTERM while a job runs
    assert alone.should_hand_back("inbound")
