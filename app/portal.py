"""The customer portal pages: sign in/out and the organisation's ticket list."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from app import runtime_of
from app.api import filtered_tickets
from app.auth import current_user, log_in, password_matches
from app.scope import ScopeError, scopes_for
from app.serializers import ticket_json
from sync.models import Ticket, User

bp = Blueprint("portal", __name__)
PER_PAGE = 50


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    """Email + password sign-in."""
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()
        password = request.form.get("password") or ""
        with runtime_of(current_app).sessions() as db:
            user = db.scalars(select(User).where(User.email == email, User.active.is_(True))).first()
            if user is not None and password_matches(user, password):
                log_in(user)
                return redirect(url_for("portal.index"))
        flash(_("Wrong email or password."), "error")
        return render_template("login.html", email=email), 401
    return render_template("login.html", email="")


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    """End the portal session."""
    from flask import session

    session.clear()
    return redirect(url_for("portal.login"))


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    """The ticket list of the signed-in user's scope."""
    user = current_user()
    if user is None:
        return redirect(url_for("portal.login"))
    runtime = runtime_of(current_app)
    args = request.args.to_dict()
    args.setdefault("scope", "org" if "org" in scopes_for(user) else "mine")
    try:
        page = max(1, int(args.get("page", 1)))
        query = filtered_tickets(user, args)
    except (ValueError, ScopeError):
        return redirect(url_for("portal.index"))
    locale = str(get_locale() or "en")
    with runtime.sessions() as db:
        total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
        rows = db.scalars(query.order_by(Ticket.jira_updated_at.desc(), Ticket.id.desc())
                          .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
        tickets = [ticket_json(t, runtime.mapping, user, locale) for t in rows]
    return render_template("list.html", user=user, tickets=tickets, total=total, page=page, per_page=PER_PAGE,
                           scope=args["scope"], scopes=scopes_for(user), q=args.get("q", ""))
