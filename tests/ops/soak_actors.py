"""The soak's actors: a customer acting through the API (retrying with the same idempotency key) and agents
changing requests in the stand-in JSM. Each records what it did in the `Tally` the checks read."""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import requests

from sandbox.testing import RunningSandbox
from tests.ops.soak_checks import Tally
from tests.ops.soak_mail import AgentComment
from tests.ops.soak_services import Install

AGENT_STATUSES = ("Waiting for Support", "Waiting for Customer", "In Progress", "Escalated", "On Hold")
PRIORITIES = ("Lowest", "Low", "Medium", "High", "Highest")


class Customer:
    """One customer acting through the API of whichever web process answers, retrying with the same key."""

    def __init__(self, install: Install, token: str, tally: Tally, rng: random.Random) -> None:
        self.install, self.tally, self.rng = install, tally, rng
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(self, path: str, body: dict[str, Any], deadline: float = 60) -> int | None:
        key, until = str(uuid.uuid4()), time.monotonic() + deadline
        while time.monotonic() < until:
            url = self.rng.choice(self.install.web_urls())
            try:
                response = requests.post(url + path, json=body, timeout=10,
                                         headers={**self.headers, "Idempotency-Key": key})
            except requests.RequestException:
                self.tally.add("api_retries")
                time.sleep(0.3)
                continue
            if response.status_code >= 500 or response.status_code == 429:
                self.tally.add("api_retries")
                time.sleep(0.3)
                continue
            return response.status_code
        self.tally.add("api_gave_up")
        return None

    def act(self, keys: list[str], n: int) -> None:
        kind = self.rng.choices(["comment", "resolve", "reopen", "create"], [6, 1, 1, 1])[0]
        if kind == "create":
            summary = f"soak created {n} {uuid.uuid4().hex[:6]}"
            status = self.post("/api/v1/tickets", {"service_desk": "SUP", "request_type": "11", "summary": summary,
                                                   "description": "from the soak",
                                                   "fields": {"customfield_10201": "Production"}})
            if status in (200, 201, 202):
                with self.tally.lock:
                    self.tally.created.append(summary)
        elif kind == "comment":
            body = f"soak comment {n} {uuid.uuid4().hex[:6]}"
            status = self.post(f"/api/v1/tickets/{self.rng.choice(keys)}/comments", {"body": body})
            if status in (200, 201, 202):
                with self.tally.lock:
                    self.tally.comments.append(body)
        else:
            status = self.post(f"/api/v1/tickets/{self.rng.choice(keys)}/{kind}", {})
        self.tally.add(f"customer_{kind}_{'accepted' if status in (200, 201, 202) else 'refused'}")


def agent_act(sb: RunningSandbox, keys: list[str], rng: random.Random, n: int, tally: Tally) -> None:
    """A change an agent makes in JSM (each one sends webhooks, under the webhook faults)."""
    key = rng.choice(keys)
    kind = rng.choice(["transition", "comment", "priority"])
    body: dict[str, Any] = {"transition": {"status": rng.choice(AGENT_STATUSES)},
                            "comment": {"body": f"agent note {n} {uuid.uuid4().hex[:6]}", "public": rng.random() < 0.7},
                            "priority": {"priority": rng.choice(PRIORITIES)}}[kind]
    response = requests.post(f"{sb.url}/_sandbox/requests/{key}/{kind}", json=body, timeout=10)
    tally.add(f"agent_{kind}" if response.ok else "agent_refused")
    if kind == "comment" and response.ok:
        with tally.lock:
            tally.agent_comments.append(AgentComment(response.json()["id"], key, body["body"], body["public"]))
