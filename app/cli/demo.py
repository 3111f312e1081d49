"""Demo accounts for `make run` against the stand-in JSM, so a newcomer can sign in at once.

Reads the stand-in's organisations and their customers through the JSM REST API (as any client
would), creates matching local organisations (linked by JSM organisation id, so the first sync files
every request under them) and portal accounts with a known password. Only in sandbox mode, and only
on an install that has no users yet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests
from sqlalchemy import func, select

from app.services.accounts import create_org, create_user
from sync.models import Organization, Role, User
from sync.naming import slugify
from sync.runtime import Runtime

log = logging.getLogger(__name__)
DEMO_PASSWORD = "demo-password"
ADMIN_EMAIL = "admin@demo.local"
CUSTOMERS_PER_ORG = 2


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: str
    organisation: str | None


def _get(session: requests.Session, url: str) -> list[dict]:
    values: list[dict] = []
    start = 0
    while True:
        page = session.get(url, params={"start": start, "limit": 50}, timeout=10).json()
        values.extend(page.get("values", []))
        if page.get("isLastPage", True):
            return values
        start += len(page.get("values", [])) or 50


def create_demo_accounts(runtime: Runtime) -> list[DemoAccount]:
    """Create the demo organisations and accounts; returns what was created (empty if users exist)."""
    jira = runtime.settings.jira
    with runtime.sessions() as db:
        if db.scalar(select(func.count()).select_from(User)):
            return []
    http = requests.Session()
    http.auth = (jira.email or "admin@sandbox.local",
                 jira.api_token.get_secret_value() if jira.api_token else "sandbox-token")
    base = f"{jira.site_url}/rest/servicedeskapi"
    created = [DemoAccount(ADMIN_EMAIL, Role.ADMIN, None)]
    with runtime.sessions() as db, db.begin():
        create_user(db, email=ADMIN_EMAIL, role=Role.ADMIN, password=DEMO_PASSWORD, name="Demo admin")
        for org in _get(http, f"{base}/organization"):
            existing = db.scalars(select(Organization).where(Organization.jira_org_id == str(org["id"]))).first()
            local = existing or create_org(db, slugify(org["name"]), org["name"], str(org["id"]))
            members = _get(http, f"{base}/organization/{org['id']}/user")
            viewer = f"viewer@{local.slug}.demo"
            create_user(db, email=viewer, role=Role.ORG_VIEWER, org_slug=local.slug, password=DEMO_PASSWORD,
                        name=f"{local.name} overview")
            created.append(DemoAccount(viewer, Role.ORG_VIEWER, local.name))
            for member in members[:CUSTOMERS_PER_ORG]:
                if not member.get("emailAddress"):
                    continue
                create_user(db, email=member["emailAddress"], role=Role.CUSTOMER, org_slug=local.slug,
                            password=DEMO_PASSWORD, name=member.get("displayName", ""),
                            jira_account_id=member.get("accountId"))
                created.append(DemoAccount(member["emailAddress"].lower(), Role.CUSTOMER, local.name))
    return created


def announce(accounts: list[DemoAccount], url: str, totp_required: bool) -> None:
    """Log the demo sign-ins so the person who ran `make run` can use them."""
    if not accounts:
        return
    lines = [f"Demo accounts (password for all: {DEMO_PASSWORD}) — sign in at {url}login"]
    lines += [f"  {a.role:<10} {a.email:<36} {a.organisation or ''}" for a in accounts]
    if totp_required:
        lines.append("  (the admin is asked to set up two-factor sign-in with an authenticator app first: "
                     "security.require_totp_for_managers)")
    log.info("\n".join(lines))
