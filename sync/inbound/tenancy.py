"""Which organisation a request belongs to: JSM's Organizations field, else its reporter's portal organisation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sync.jsm.snapshots import Organisation
from sync.models import Organization, User
from sync.naming import slugify

if TYPE_CHECKING:
    from sync.inbound.batch import BatchCache


def organisation_id(session: Session, organisations: tuple[Organisation, ...], reporter_account: str | None,
                    reporter_email: str | None, batch: BatchCache | None = None) -> int | None:
    """The local organisation of a request shared with `organisations` (created if new), or its reporter's."""
    if organisations:
        # A request shared with several organisations belongs to the first one an admin already linked
        # (jira_org_id), so adding an organisation in JSM never moves a ticket away from its customers.
        ids = [o.jira_id for o in organisations]
        if batch is not None:
            known = {i: batch.org_by_jira[i] for i in ids if i in batch.org_by_jira}
        else:
            known = {jira_org_id: org_id for jira_org_id, org_id in session.execute(
                select(Organization.jira_org_id, Organization.id).where(Organization.jira_org_id.in_(ids)))
                if jira_org_id is not None}
        first = next((o for o in organisations if o.jira_id in known), organisations[0])
        if first.jira_id in known:
            return known[first.jira_id]
        slug = slugify(first.name)
        if session.scalars(select(Organization.id).where(Organization.slug == slug)).first() is not None:
            slug = f"{slug}-{first.jira_id}"
        org = Organization(slug=slug, name=first.name, jira_org_id=first.jira_id)
        session.add(org)
        session.flush()
        if batch is not None:
            batch.org_by_jira[first.jira_id] = org.id
        return org.id
    if batch is not None:
        known_reporter, org_id = batch.reporter_org(reporter_account, reporter_email)
        if known_reporter:
            return org_id
    conditions = []
    if reporter_account:
        conditions.append(User.jira_account_id == reporter_account)
    if reporter_email:
        conditions.append(User.email == reporter_email.lower())
    if not conditions:
        return None
    # Only the id, without autoflush: this runs on every apply of a ticket that has no organisation yet
    # (a reporter who is not a portal user), and loading User with its joined organisation after a
    # flush was a third of the apply time (bench/apply.py).
    with session.no_autoflush:
        return session.scalars(select(User.organization_id).where(
            or_(*conditions), User.organization_id.is_not(None)).limit(1)).first()
