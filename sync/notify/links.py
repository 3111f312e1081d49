"""Absolute links in e-mails, and the signed one-click unsubscribe token (no session needed to use it)."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from sync.settings import Settings

_SALT = "companion.unsubscribe"


def _signer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.effective_secret_key, salt=_SALT)


def unsubscribe_token(settings: Settings, user_id: int) -> str:
    """A token naming the user, signed with the install's secret (it works until the secret changes)."""
    return str(_signer(settings).dumps({"u": user_id}))


def unsubscribe_user(settings: Settings, token: str) -> int | None:
    """The user a valid unsubscribe token names, else None."""
    try:
        data = _signer(settings).loads(token)
    except BadSignature:
        return None
    user_id = data.get("u") if isinstance(data, dict) else None
    return user_id if isinstance(user_id, int) else None


def url(settings: Settings, path: str) -> str:
    """`path` on the portal as a mail reader reaches it (`portal.base_url`)."""
    return settings.effective_base_url + path


def unsubscribe_url(settings: Settings, user_id: int) -> str:
    return url(settings, f"/unsubscribe/{unsubscribe_token(settings, user_id)}")
