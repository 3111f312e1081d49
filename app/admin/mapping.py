"""Admin pages: the mapping editor (the site's statuses first, preview in words, confirmed publish, default)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _

from app.admin.mapping_view import effect_sentences, policy_sentences, split_rules, status_choices
from app.context import current_user, locale_code, login_required, runtime_of
from mappings import Mapping, MappingError, load_yaml
from sync import mapping_store
from sync.jobs import reproject_progress
from sync.models import utcnow
from sync.permissions import is_admin
from sync.policies.forecast import forecast
from sync.projection import reproject
from sync.projection.site_statuses import site_projects, site_statuses
from sync.projection.unmapped import unmapped_report

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")


def _admin() -> Any:
    user = current_user()
    if not is_admin(user):
        abort(404)
    return user


def _published(runtime: Any, version: int | None) -> dict[str, Any] | None:
    """The outcome of the publish the editor just made (`?published=N`), once its re-projection is done."""
    wanted = request.args.get("published", type=int)
    if not wanted or wanted != version:
        return None
    progress = reproject_progress(runtime.redis) or {}
    done = progress.get("version") == wanted and progress.get("state") == "done"
    return {"version": wanted, "done": done, "changed": progress.get("status_changes", 0) if done else None}


@bp.get("/mapping")
@login_required
def mapping_page() -> Any:
    """The mapping editor; admin_mapping.js builds the proposal from the page and publishes it through the API."""
    user = _admin()
    runtime = runtime_of(current_app)
    mapping = runtime.mapping
    locale = locale_code()
    document = mapping.to_dict()
    site = site_statuses(runtime)
    version = mapping_store.active_version(runtime)
    return render_template(
        "admin/mapping.html", user=user, locale=locale, document=document, rules=split_rules(document, site),
        choices=status_choices(mapping, locale), statuses={s.key: s for s in mapping.statuses},
        priorities=[(p.key, p.label(locale), p.description(locale)) for p in mapping.priorities],
        projects=site_projects(runtime), unmapped=unmapped_report(runtime), version=version,
        versions=mapping_store.list_versions(runtime)[:20], published=_published(runtime, version),
        from_file=runtime.settings.mappings.file is not None)


def _proposal(runtime: Any, body: Any) -> Mapping:
    """What to preview: {"document": …}, {"version": N} (a rollback) or {"default": true} (restore the default)."""
    if not isinstance(body, dict):
        raise MappingError([_("The proposal could not be read. Reload the page and try again.")])
    if body.get("default") is True:
        return mapping_store.base_mapping(runtime.settings)
    version = body.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        try:
            return load_yaml(mapping_store.version_document(runtime, version))
        except LookupError:
            raise MappingError([_("Version %(v)s does not exist.", v=version)]) from None
    document = body.get("document")
    if not isinstance(document, dict):
        raise MappingError([_("The proposal could not be read. Reload the page and try again.")])
    return Mapping.from_dict(document)


@bp.post("/mapping/preview")
@login_required
def preview_fragment() -> Any:
    """What publishing the proposal would change, as sentences in the admin's language (an HTML fragment)."""
    _admin()
    runtime = runtime_of(current_app)
    try:
        proposal = _proposal(runtime, request.get_json(silent=True))
    except MappingError as exc:
        return render_template("admin/_mapping_preview.html", problems=exc.messages), 400
    locale = locale_code()
    with runtime.sessions() as session:
        effect = reproject.preview(session, proposal).as_dict()
        rules = forecast(session, proposal, utcnow(), locale).as_dict()
    return render_template("admin/_mapping_preview.html", problems=[], effect=effect,
                           sentences=effect_sentences(effect, proposal, runtime.mapping, locale),
                           rules=policy_sentences(rules))
