"""Store → people: e-mail notifications, as careful as the inbox and the outbox.

Where it sits (import-linter, pyproject.toml): between `jsm` and `inbound | projection`. Notifications
are caused by inbound changes, so `sync.inbound.upsert` records "what changed" facts
(`facts.record_status_change`, `facts.record_support_reply`) in the very transaction of the change;
`sync.outbound.push` passes the acting portal user, and the policies call `facts.enqueue_reminder`.
Nothing here imports inbound, outbound or jobs; `sync.jobs.drain_notifications` drives the rest:
`fanout` (recipients by the one scope rule in `sync.scope`, preferences, never the actor), `compose`
(one mail per user folding every due change), `delivery` (exactly once: lease, "handed over" recorded
before the data, the server's answer kept), `transport` (SMTP or .eml files), `markup` (the one Jira
markup renderer, shared with the portal).
"""

from sync.notify.facts import Actor, enqueue_reminder

__all__ = ["Actor", "enqueue_reminder"]
