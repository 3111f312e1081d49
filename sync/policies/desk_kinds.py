"""Which service desks are paid support with SLAs and which are free help, as far as we know.

JSM has no "this desk is paid" flag: a desk is paid support when its requests carry SLAs (000/001: the paid
technical support desk has SLAs per contract; the free one has none). We learn it from the SLA mirror
(`sync.policies.sla`): a desk with any request that has an SLA is paid; one whose requests were asked and
had none is free. The mapping may name the desks with SLAs instead (`sla.projects`); then that decides.
A desk we know nothing about yet (no request asked) is left unexplained rather than guessed.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Text, case, cast, func, select
from sqlalchemy.orm import Session

from mappings import Mapping
from sync.models import Ticket, TicketSla


class DeskKind(StrEnum):
    """What customers should expect of a desk."""

    PAID = "paid"
    FREE = "free"


def desk_kinds(session: Session, mapping: Mapping, project_keys: list[str]) -> dict[str, DeskKind]:
    """The kind of each of `project_keys` that is known (unknown desks are absent)."""
    kinds: dict[str, DeskKind] = {}
    listed = mapping.policies.sla_projects
    if listed is not None:
        return {key: DeskKind.PAID if key.upper() in listed else DeskKind.FREE for key in project_keys}
    # An empty metrics list is stored as the JSON text "[]" by every database we run on.
    with_sla = func.sum(case((cast(TicketSla.metrics, Text) != "[]", 1), else_=0))
    rows = session.execute(
        select(Ticket.project_key, func.count(), with_sla).join(TicketSla, TicketSla.ticket_id == Ticket.id)
        .where(Ticket.project_key.in_(project_keys)).group_by(Ticket.project_key))
    for project_key, asked, having in rows:
        if asked:
            kinds[project_key] = DeskKind.PAID if having else DeskKind.FREE
    return kinds
