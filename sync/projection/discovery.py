"""Discovery of the site's statuses, priorities and request types, so admins see what is unmapped.

Tickets show only the statuses requests are in today; a workflow may have more. This asks JSM for
all of them (a maintenance job, hourly and after the first sync) and keeps the answer in SyncState.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from sync.jsm.gateway import gateway_for
from sync.models import SyncState, utcnow

if TYPE_CHECKING:
    from sync.jsm.gateway import JsmGateway
    from sync.runtime import Runtime

STATE_NAME = "jira:vocabulary"


def discover(runtime: Runtime, gateway: JsmGateway | None = None) -> dict[str, Any]:
    """Fetch statuses, priorities and request types of the mirrored service desks; store and return them."""
    gw = gateway or gateway_for(runtime)
    projects = runtime.settings.jira.projects
    request_types = []
    for desk in gw.list_service_desks():
        if projects and desk.project_key.upper() not in projects:
            continue
        request_types += [{"id": rt.id, "name": rt.name, "service_desk": desk.project_key}
                          for rt in gw.list_request_types(desk.id)]
    value = {"statuses": [asdict(s) for s in gw.list_statuses()],
             "priorities": [asdict(p) for p in gw.list_priorities()],
             "request_types": request_types, "at": utcnow().isoformat()}
    with runtime.sessions() as session, session.begin():
        row = session.get(SyncState, STATE_NAME)
        if row is None:
            session.add(SyncState(name=STATE_NAME, value=value))
        else:
            row.value = value
    return value


def discovered(runtime: Runtime) -> dict[str, Any]:
    """The last discovery's answer (empty lists before the first one)."""
    with runtime.sessions() as session:
        value = session.scalar(select(SyncState.value).where(SyncState.name == STATE_NAME))
    return value or {"statuses": [], "priorities": [], "request_types": [], "at": None}
