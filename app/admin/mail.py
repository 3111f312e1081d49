"""/admin/mail: the outgoing mails with their state and the server's answer; the `.eml` files when there is no SMTP.

Admins only (anyone else gets 404). A mail that carried a one-time link is scrubbed once sent, so its
text is gone here too: only its headers' record (to, subject, state, answer) stays.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, request

from app.context import current_user, login_required, runtime_of
from app.services.mail_log import eml_files, read_eml, recent_mails, show
from sync.models import MailState, OutgoingMail
from sync.permissions import is_admin

bp = Blueprint("admin_mail", __name__, url_prefix="/admin/mail")


@bp.app_context_processor
def _mail_nav() -> dict[str, Any]:
    return {"show_mail_link": is_admin(current_user())}


def _guard() -> Any:
    user = current_user()
    if not is_admin(user):
        abort(404)
    return user


@bp.get("/")
@login_required
def index() -> Any:
    user = _guard()
    runtime = runtime_of(current_app)
    state = request.args.get("state") or None
    if state is not None and state not in {s.value for s in MailState}:
        state = None  # an unknown filter shows everything rather than failing
    with runtime.sessions() as db:
        mails = recent_mails(db, state)
        files = eml_files(runtime.settings.data_dir / "mail") if runtime.settings.mail.smtp_url is None else []
        return render_template("admin/mail.html", user=user, mails=mails, files=files, state=state,
                               states=[s.value for s in MailState],
                               smtp=runtime.settings.mail.smtp_url is not None)


@bp.get("/<int:mail_id>")
@login_required
def message(mail_id: int) -> Any:
    user = _guard()
    with runtime_of(current_app).sessions() as db:
        mail = db.get(OutgoingMail, mail_id)
        if mail is None:
            abort(404)
        shown = show(mail.raw.encode("ascii")) if mail.raw else None
        return render_template("admin/mail_message.html", user=user, mail=mail, shown=shown, name=None)


@bp.get("/files/<name>")
@login_required
def eml(name: str) -> Any:
    user = _guard()
    raw = read_eml(runtime_of(current_app).settings.data_dir / "mail", name)
    if raw is None:
        abort(404)
    return render_template("admin/mail_message.html", user=user, mail=None, shown=show(raw), name=name)
