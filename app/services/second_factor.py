"""TOTP second factor (RFC 6238, via pyotp) and its single-use recovery codes.

Enrolment stores a fresh secret on the user (not yet enabled) and shows it once as a QR code and as
text; the first code that matches turns it on and yields ten recovery codes, shown once, stored hashed.
A code is accepted once: the time step of the last accepted code is kept, so a code seen over a
shoulder or in a log cannot be replayed within its 30 seconds.

The secret is stored sealed (app.services.secret_box: Fernet under a key derived from the install's
secret key), so a database dump alone does not give the codes. A secret stored in plain by an earlier
release (base32 only: never a Fernet token) still works and is sealed at its next accepted code.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.services.secret_box import InvalidToken, SecretBox
from sync.models import RecoveryCode, User, utcnow
from sync.permissions import can_manage_users
from sync.settings import Settings

ISSUER = "JSM Companion"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_VALID_WINDOW = 1  # the previous and next 30-second step too: phone clocks drift
_PURPOSE = b"jsm-companion totp secrets v1"
_PLAIN_SECRET = re.compile(r"[A-Z2-7]+=*")  # base32, as stored before secrets were sealed

log = logging.getLogger(__name__)


def _box(settings: Settings) -> SecretBox:
    return SecretBox(settings.effective_secret_key, _PURPOSE)


def _secret(user: User, settings: Settings) -> str | None:
    """The user's plain secret, or None (none stored, or sealed under a secret key since rotated)."""
    stored = user.totp_secret
    if not stored:
        return None
    if _PLAIN_SECRET.fullmatch(stored):
        return stored
    try:
        return _box(settings).open(stored)
    except InvalidToken:
        log.warning("the TOTP secret of user %s does not open with this secret_key (rotated?): "
                    "`companion users reset-2fa` lets them set it up again", user.id)
        return None


def required_for(user: User, settings: Settings) -> bool:
    """Admins and org admins must use a second factor when `security.require_totp_for_managers` is on."""
    return settings.totp_required_for_managers and can_manage_users(user)


def is_enabled(user: User) -> bool:
    return user.totp_enabled_at is not None and bool(user.totp_secret)


def must_enrol(user: User, settings: Settings) -> bool:
    """Signed in by password alone although a second factor is required: only its set-up is open."""
    return required_for(user, settings) and not is_enabled(user)


def begin_enrolment(user: User, settings: Settings) -> str:
    """A new secret for an account without an enabled factor (each visit of the set-up page makes one)."""
    if is_enabled(user):
        raise ValueError("two-factor sign-in is already on")
    secret = pyotp.random_base32()
    user.totp_secret = _box(settings).seal(secret)
    return secret


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The QR code as an SVG data: URI (the page's CSP allows data: images; no script, no request)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def check_totp(user: User, code: str, settings: Settings, now: datetime | None = None) -> bool:
    """Whether `code` is the user's current TOTP code, not used before; records its time step."""
    code = _normalise(code)
    if len(code) != 6 or not code.isdigit():
        return False
    secret = _secret(user, settings)
    if secret is None:
        return False
    totp = pyotp.TOTP(secret)
    moment = now or utcnow()
    step = totp.timecode(moment)
    for offset in range(-_VALID_WINDOW, _VALID_WINDOW + 1):
        candidate = step + offset
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            if user.totp_last_step is not None and candidate <= user.totp_last_step:
                return False  # replayed (or older than one already used)
            user.totp_last_step = candidate
            if user.totp_secret == secret:  # stored in plain by an earlier release: sealed from now on
                user.totp_secret = _box(settings).seal(secret)
            return True
    return False


def confirm_enrolment(db: Session, user: User, code: str, settings: Settings) -> list[str] | None:
    """Turn the factor on when `code` matches the pending secret; returns the new recovery codes."""
    if is_enabled(user) or not check_totp(user, code, settings):
        return None
    user.totp_enabled_at = utcnow()
    return new_recovery_codes(db, user)


def _hash(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def new_recovery_codes(db: Session, user: User) -> list[str]:
    """Replace the user's recovery codes with ten new ones (returned in plain once, stored hashed)."""
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")  # 12 of 31 symbols: about 59 bits each
    db.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(code)) for code in codes)
    return codes


def use_recovery_code(db: Session, user: User, code: str) -> bool:
    """Spend one unused recovery code of the user; False when none matches."""
    if len(_normalise(code)) != 12:
        return False
    row = db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None),
                                                RecoveryCode.code_hash == _hash(code))).first()
    if row is None:
        return False
    row.used_at = utcnow()
    return True


def verify_sign_in(db: Session, user: User, code: str, settings: Settings) -> bool:
    """A TOTP code, or else one of the recovery codes."""
    return check_totp(user, code, settings) or use_recovery_code(db, user, code)


def recovery_codes_left(db: Session, user: User) -> int:
    return len(db.scalars(select(RecoveryCode.id).where(RecoveryCode.user_id == user.id,
                                                        RecoveryCode.used_at.is_(None))).all())


def turn_off(db: Session, user: User) -> None:
    """Remove the factor and its recovery codes (the user's own choice, or an admin's escape hatch)."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
