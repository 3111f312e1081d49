"""`companion worker` stops on SIGTERM when idle too: a stop is never mistaken for an outage and restarted."""

from __future__ import annotations

import signal

from tests.conftest import make_settings
from tests.ops.procs import process_env, start, stop, wait_until


def test_an_idle_worker_stops_on_sigterm_without_starting_again(tmp_path, database_url, redis_url,  # type: ignore[no-untyped-def]
                                                                  redis_client) -> None:
    settings = make_settings(tmp_path, database_url, redis_url)
    env = process_env(settings)
    log = tmp_path / "worker.log"
    worker = start(["worker", "--queues", "inbound"], env, log)
    try:
        assert wait_until(lambda: "Listening on inbound" in log.read_text(errors="replace"), 60), log.read_text()
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(15)
    finally:
        stop(worker)
    text = log.read_text(errors="replace")
    assert code == 0, text
    assert "warm shut down requested" in text and "goes on" not in text, text
    assert text.count("Listening on inbound") == 1, text  # no fresh worker after the stop
