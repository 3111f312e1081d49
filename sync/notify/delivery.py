"""Sending stored mails exactly once: claim with a lease, record "handed over" before the data, record the answer.

States: `pending` → `sending` (claimed; `handed_over_at` committed just before the server gets the
data) → `sent` | `failed` (the server's permanent answer) | `uncertain` (the worker stopped or the
connection broke after the hand-over: it may have arrived, so it is never sent again; admins see it).
A transient failure before the hand-over goes back to `pending` with a backoff. A `sending` row past
its lease with no hand-over never reached the server, so the sweeper hands it back as `pending`.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sync.models import MailState, OutgoingMail, utcnow
from sync.notify.transport import (
    PermanentMailError,
    TransientMailError,
    UncertainMailError,
    parse_smtp_url,
    send_smtp,
    write_eml,
)
from sync.runtime import Runtime

log = logging.getLogger(__name__)

# RQ kills a notify job after JOB_TIMEOUT; a row still `sending` after LEASE_SECONDS has no live worker.
JOB_TIMEOUT = 300
LEASE_SECONDS = 360
MAX_ATTEMPTS = 12


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … up to an hour between tries."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def due_mails(session: Session, lease_seconds: float = LEASE_SECONDS, limit: int = 200) -> list[int]:
    """Mails to (re)send now; abandoned `sending` rows are settled first (see the module docstring)."""
    now = utcnow()
    for mail in session.scalars(select(OutgoingMail).where(
            OutgoingMail.state == MailState.SENDING,
            OutgoingMail.claimed_at <= now - timedelta(seconds=lease_seconds)).with_for_update(skip_locked=True)):
        if mail.handed_over_at is None:
            mail.state, mail.next_attempt_at = MailState.PENDING, None
        else:
            mail.state = MailState.UNCERTAIN
            mail.answer = (f"the worker stopped after handing the message to the server at "
                           f"{mail.handed_over_at.isoformat()}; not sent again (look for {mail.message_id} "
                           f"in the server's log)")
    session.flush()
    return list(session.scalars(select(OutgoingMail.id).where(
        OutgoingMail.state == MailState.PENDING,
        or_(OutgoingMail.next_attempt_at.is_(None), OutgoingMail.next_attempt_at <= now))
        .order_by(OutgoingMail.id).limit(limit)))


def _claim(runtime: Runtime, mail_id: int) -> tuple[str, str, str] | None:
    with runtime.sessions() as session, session.begin():
        mail = session.get(OutgoingMail, mail_id, with_for_update={"skip_locked": True})
        now = utcnow()
        if mail is None or mail.state != MailState.PENDING or mail.raw is None \
                or (mail.next_attempt_at is not None and mail.next_attempt_at > now):
            return None
        mail.state, mail.claimed_at, mail.handed_over_at = MailState.SENDING, now, None
        mail.attempts += 1
        return mail.raw, mail.to_address, mail.message_id


def _handed_over(runtime: Runtime, mail_id: int) -> None:
    with runtime.sessions() as session, session.begin():
        mail = session.get(OutgoingMail, mail_id, with_for_update=True)
        if mail is not None:
            mail.handed_over_at = utcnow()


def _record(runtime: Runtime, mail_id: int, state: MailState, answer: str) -> MailState:
    with runtime.sessions() as session, session.begin():
        mail = session.get(OutgoingMail, mail_id, with_for_update=True)
        if mail is None:
            return state
        if state == MailState.PENDING and mail.attempts >= MAX_ATTEMPTS:
            state, answer = MailState.FAILED, f"{answer}; gave up after {mail.attempts} attempts"
        mail.state, mail.answer = state, answer[:2000]
        if state == MailState.PENDING:
            mail.next_attempt_at, mail.handed_over_at = utcnow() + backoff(mail.attempts), None
        if state == MailState.SENT:
            mail.sent_at = utcnow()
            if mail.scrub_after_send:
                mail.raw = None  # a one-time link has no business staying in the database
        return state


def deliver(runtime: Runtime, mail_id: int) -> str:
    """Send one stored mail if it is due; returns its resulting state ("skipped" when not claimable)."""
    claimed = _claim(runtime, mail_id)
    if claimed is None:
        return "skipped"
    raw, recipient, message_id = claimed
    data = raw.encode("ascii")
    settings = runtime.settings
    try:
        if settings.mail.smtp_url is None:
            _handed_over(runtime, mail_id)
            answer = write_eml(settings.data_dir / "mail", message_id, data)
        else:
            target = parse_smtp_url(settings.mail.smtp_url.get_secret_value())
            answer = send_smtp(target, data, settings.mail.sender, recipient, lambda: _handed_over(runtime, mail_id))
    except TransientMailError as exc:
        log.warning("mail %s to be retried: %s", mail_id, exc)
        return _record(runtime, mail_id, MailState.PENDING, str(exc))
    except PermanentMailError as exc:
        log.warning("mail %s refused for good: %s", mail_id, exc)
        return _record(runtime, mail_id, MailState.FAILED, str(exc))
    except UncertainMailError as exc:
        return _record(runtime, mail_id, MailState.UNCERTAIN, str(exc))
    return _record(runtime, mail_id, MailState.SENT, answer)
