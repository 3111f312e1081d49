"""One stand-in JSM site (`Sandbox`): its state, faults, webhook sender and payload builders."""

from __future__ import annotations

from sandbox.events import EventBuilder
from sandbox.faults import Faults
from sandbox.issues import IssueBuilder
from sandbox.json_shapes import Shapes
from sandbox.seed import apply_seed
from sandbox.servicedesk_dtos import SdRenderer
from sandbox.state import Change, SandboxState
from sandbox.webhooks import WebhookSender


class Sandbox:
    """Everything one stand-in JSM site holds; the Flask app keeps it in `app.extensions["sandbox"]`."""

    def __init__(self, seed: str = "demo", deployment: str = "cloud", webhook_url: str | None = None,
                 webhook_secret: str | None = None, email: str = "admin@sandbox.local",
                 token: str = "sandbox-token", base_url: str = "http://127.0.0.1:8081") -> None:
        if deployment not in ("cloud", "datacenter"):
            raise ValueError("deployment must be 'cloud' or 'datacenter'")
        self.deployment, self.email, self.token = deployment, email, token
        self.cloud = deployment == "cloud"
        self.state = SandboxState()
        self.faults = Faults()
        self.sender = WebhookSender(webhook_url, webhook_secret, self.faults)
        self.set_base_url(base_url)
        self.state.listener = self._on_change
        self.seed_seconds = self.reseed(seed)

    def set_base_url(self, base_url: str) -> None:
        """Links in payloads use this URL (testing.running_sandbox sets it once the port is known)."""
        self.base_url = base_url.rstrip("/")
        self.shapes = Shapes(self.base_url, self.deployment)
        self.issues = IssueBuilder(self.shapes, self.state.orgs)
        self.events = EventBuilder(self.issues)
        self.sd = SdRenderer(self.shapes)
        self.sd.now_ms = self.state.now_ms

    def reseed(self, seed: str) -> float:
        """Reset the state from a seed (no webhooks); returns the seconds it took."""
        took = apply_seed(self.state, seed, self.email)
        self.issues.orgs = self.state.orgs  # reset() replaced the dict
        return took

    def _on_change(self, change: Change) -> None:
        # Runs under the state lock: the payload is a snapshot of the state right after the change.
        for event, body in self.events.build(change):
            self.sender.enqueue(event, body)

    def close(self) -> None:
        """Stop the webhook thread."""
        self.sender.stop()
