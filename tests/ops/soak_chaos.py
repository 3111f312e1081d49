"""The soak's chaos: a thread that deals one blow every few seconds, each kind once a round."""

from __future__ import annotations

import random
import sys
import threading

import redis
from sqlalchemy import text
from sqlalchemy.engine import Engine

from sync.scheduler import current_leader
from tests.ops.soak_checks import Tally
from tests.ops.soak_services import Install, RedisServer

BLOWS = ("worker", "scheduler", "web", "redis", "worker", "database")
# The operations go on past their count until `rounds` whole rounds of blows have landed: on a fast, quiet
# machine the count alone can finish before the first kill, and a soak without its chaos proves nothing.
CHAOS_ROUND_CAP_SECONDS = 600


class Chaos(threading.Thread):
    """Every `every` seconds, one blow: a worker, a web process, the leading scheduler, Redis, the database."""

    def __init__(self, install: Install, redis_server: RedisServer, admin: Engine, db_name: str, every: float,
                 rng: random.Random, tally: Tally) -> None:
        super().__init__(name="chaos", daemon=True)
        self.install, self.redis_server, self.admin, self.db_name = install, redis_server, admin, db_name
        self.every, self.rng, self.tally, self.stopped = every, rng, tally, threading.Event()
        self.landed = 0  # blows dealt so far (read by the operations loop; only this thread writes it)

    def run(self) -> None:
        # Every kind of blow in each round, in a shuffled order.
        blows = list(BLOWS)
        self.rng.shuffle(blows)
        while not self.stopped.wait(self.every):
            blow = blows[self.landed % len(blows)]
            try:
                getattr(self, f"_{blow}")()
            except Exception as exc:  # a blow that misfired is reported, the soak goes on
                self.tally.add(f"chaos_error_{blow}")
                print(f"chaos {blow} failed: {exc!r}", file=sys.stderr)
            self.landed += 1

    def _worker(self) -> None:
        self.install.restart(f"worker{self.rng.randrange(3)}")
        self.tally.add("kills_worker")

    def _web(self) -> None:
        # The stand-in sends webhooks to one address: a load balancer in front would move them to the other.
        victim = self.rng.randrange(2)
        self.install.point_webhooks(1 - victim)
        self.install.restart(f"web{victim}")
        self.tally.add("kills_web")

    def _scheduler(self) -> None:
        leader = current_leader(redis.Redis.from_url(self.redis_server.url, socket_timeout=2))
        name = next((n for n, p in self.install.procs.items() if leader and p.pid == int(leader["pid"])), None)
        if name is None:
            self.tally.add("chaos_no_leader_seen")
            return
        self.install.restart(name)
        self.tally.add("kills_leading_scheduler")

    def _redis(self) -> None:
        self.redis_server.restart_empty()
        self.tally.add("restarts_redis_empty")

    def _database(self) -> None:
        with self.admin.connect() as conn:
            n = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": self.db_name}).scalar()
        self.tally.add("terminated_db_backends", int(n or 0))
        self.tally.add("restarts_database_connections")
