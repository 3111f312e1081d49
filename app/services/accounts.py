"""Accounts: passwords and API tokens (stored hashed), organisations and users as the CLI and tests create them."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.services.web_sessions import end_user_sessions
from sync.db import make_engine, make_session_factory
from sync.models import ROLES, ApiToken, Group, Organization, User, utcnow
from sync.permissions import BUILTIN_ROLES, Permission
from sync.settings import Settings

TOKEN_PREFIX = "jsmc_"
TOKEN_TOUCH_EVERY = timedelta(minutes=1)

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def hash_password(password: str) -> str:
    """A salted scrypt hash (werkzeug)."""
    return generate_password_hash(password)


def password_matches(user: User, password: str) -> bool:
    """Whether `password` is the user's password."""
    return bool(user.password_hash) and check_password_hash(user.password_hash, password)


def auth_epoch(user: User) -> str:
    """A digest in every invitation and reset link: setting a password, or `end_sessions`, voids older links."""
    material = f"{user.password_hash or ''}:{user.session_generation or 0}"
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def revoke_tokens(db: Session, user: User) -> int:
    """Revoke every active API token of `user`; returns how many."""
    now = utcnow()
    tokens = db.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).all()
    for token in tokens:
        token.revoked_at = now
    return len(tokens)


def end_sessions(db: Session, user: User) -> int:
    """End every portal session, pending link and API token of `user` at once; returns tokens revoked."""
    user.session_generation = (user.session_generation or 0) + 1
    end_user_sessions(db, user.id)
    return revoke_tokens(db, user)


def find_org(db: Session, ref: str) -> Organization | None:
    """An organisation by slug, else by its exact name (what `--org` accepts)."""
    org = db.scalars(select(Organization).where(Organization.slug == ref)).first()
    return org or db.scalars(select(Organization).where(Organization.name == ref)).first()


def join_group(db: Session, user: User, name: str) -> Group:
    """Put `user` in their organisation's group `name`, creating the group on first use."""
    group = db.scalars(select(Group).where(Group.organization_id == user.organization_id,
                                           Group.name == name)).first()
    if group is None:
        group = Group(organization_id=user.organization_id, name=name)
        db.add(group)
        db.flush()
    if group not in user.groups:
        user.groups.append(group)
    return group


def hash_token(token: str) -> str:
    """API tokens are random and long, so a plain SHA-256 is enough (no salt or KDF needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, name: str = "", expires_at: datetime | None = None) -> str:
    """Create an API token for `user` (until `expires_at`, or until revoked); the plain token is returned
    once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), name=name, expires_at=expires_at))
    return token


def user_for_token(db: Session, token: str) -> User | None:
    """The active user of an unrevoked, unexpired API token (recording its use), else None."""
    row = db.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token),
                                            ApiToken.revoked_at.is_(None))).first()
    now = utcnow()
    if row is None or not row.user.active or (row.expires_at is not None and row.expires_at <= now):
        return None
    # Written at most once a minute: a busy script would otherwise make every API call a write.
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_TOUCH_EVERY:
        row.last_used_at = now
        db.commit()
    return row.user


class AccountError(ValueError):
    """A user or organisation cannot be created as asked; the message says why."""


@dataclass(frozen=True)
class NewUser:
    email: str
    role: str
    token: str | None
    generated_password: str | None


@contextmanager
def account_session(settings: Settings) -> Iterator[Session]:
    """A session of its own for a one-off command; its engine is disposed afterwards."""
    engine = make_engine(settings.effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def create_org(db: Session, slug: str, name: str, jira_org_id: str | None = None) -> Organization:
    """Add an organisation inside the caller's transaction."""
    if not _SLUG.match(slug):
        raise AccountError(f"slug {slug!r}: use lowercase letters, digits and dashes (max 64)")
    if db.scalars(select(Organization).where(Organization.slug == slug)).first():
        raise AccountError(f"organisation {slug!r} already exists")
    if jira_org_id and db.scalars(select(Organization).where(Organization.jira_org_id == jira_org_id)).first():
        raise AccountError(f"JSM organisation {jira_org_id} is already linked to another organisation")
    org = Organization(slug=slug, name=name.strip() or slug, jira_org_id=jira_org_id)
    db.add(org)
    db.flush()
    return org


def create_user(db: Session, *, email: str, role: str, org_slug: str | None = None, group: str | None = None,
                password: str | None = None, name: str = "",
                jira_account_id: str | None = None) -> tuple[User, str | None]:
    """Add a user inside the caller's transaction; returns it and a generated password, if any."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise AccountError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if db.scalars(select(User).where(User.email == email)).first():
        raise AccountError(f"user {email} already exists")
    org = None
    if org_slug:
        org = find_org(db, org_slug)
        if org is None:
            raise AccountError(f"no organisation {org_slug!r}; create it with 'companion orgs add'")
    elif Permission.ADMINISTER not in BUILTIN_ROLES[role].permissions:
        raise AccountError(f"role {role} needs --org")
    if BUILTIN_ROLES[role].leading and Permission.ADMINISTER not in BUILTIN_ROLES[role].permissions and not group:
        raise AccountError("a group_lead needs --group")
    if password is not None and len(password) < 8:
        raise AccountError("the password must have at least 8 characters")
    generated = None
    if password is None:
        generated = secrets.token_urlsafe(12)
    user = User(email=email, name=name, role=role, organization_id=org.id if org else None,
                password_hash=hash_password(password or generated), must_change_password=generated is not None,
                jira_account_id=jira_account_id)
    db.add(user)
    db.flush()
    if group:
        join_group(db, user, group)
    return user, generated


def add_org(settings: Settings, slug: str, name: str, jira_org_id: str | None) -> Organization:
    """Create an organisation and commit."""
    with account_session(settings) as db, db.begin():
        return create_org(db, slug, name, jira_org_id)


def add_user(settings: Settings, *, email: str, role: str, org_slug: str | None, group: str | None,
             password: str | None, want_token: bool, name: str = "", jira_account_id: str | None = None) -> NewUser:
    """Create a user (and optionally an API token) and commit."""
    with account_session(settings) as db, db.begin():
        user, generated = create_user(db, email=email, role=role, org_slug=org_slug, group=group,
                                      password=password, name=name, jira_account_id=jira_account_id)
        token = issue_token(db, user, "cli") if want_token else None
        return NewUser(user.email, user.role, token, generated)
