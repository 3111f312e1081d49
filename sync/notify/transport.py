"""Handing one rendered message to the mail server (`mail.smtp_url`), or to a file when none is configured.

The SMTP conversation is split so the caller can record "handed over" (and commit it) just before the
message data is sent: an error before that point means the server never had the message (safe to send
again); a connection lost after it leaves delivery unknown, and the message is not sent again.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

TIMEOUT_SECONDS = 30


class TransientMailError(Exception):
    """The server did not take the message now (down, 4xx): try again later."""


class PermanentMailError(Exception):
    """The server refused the message for good (5xx); the message says what it answered."""


class UncertainMailError(Exception):
    """The connection was lost while the server was taking the message: it may have been delivered."""


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    ssl: bool
    starttls: bool
    user: str | None
    password: str | None

    def describe(self) -> str:
        scheme = "smtps" if self.ssl else "smtp"
        return f"{scheme}://{self.host}:{self.port}" + ("?starttls=true" if self.starttls else "")


def parse_smtp_url(url: str) -> SmtpTarget:
    """`smtp://[user:password@]host[:port][?starttls=true]` or `smtps://…` as connection parameters."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("mail.smtp_url: use smtp://[user:password@]host[:port][?starttls=true] or smtps://...")
    secure = parts.scheme == "smtps"
    starttls = parse_qs(parts.query).get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
    return SmtpTarget(host=parts.hostname, port=parts.port or (465 if secure else 25), ssl=secure, starttls=starttls,
                      user=unquote(parts.username) if parts.username else None,
                      password=unquote(parts.password) if parts.password else None)


def _answer(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}".strip()


def _refused(code: int, text: bytes | str) -> Exception:
    answer = _answer(code, text)
    return PermanentMailError(answer) if 500 <= code < 600 else TransientMailError(answer)


def send_smtp(target: SmtpTarget, raw: bytes, sender: str, recipient: str, handing_over: Callable[[], None]) -> str:
    """Send one message; returns the server's answer to its data. `handing_over` runs just before the data."""
    try:
        client: smtplib.SMTP = (smtplib.SMTP_SSL(target.host, target.port, timeout=TIMEOUT_SECONDS,
                                                 context=ssl.create_default_context()) if target.ssl
                                else smtplib.SMTP(target.host, target.port, timeout=TIMEOUT_SECONDS))
    except (OSError, smtplib.SMTPException) as exc:
        raise TransientMailError(f"cannot connect to {target.describe()}: {exc}") from exc
    try:
        try:
            client.ehlo()
            if target.starttls:
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if target.user:
                client.login(target.user, target.password or "")
            code, text = client.mail(sender)
            if code != 250:
                raise _refused(code, text)
            code, text = client.rcpt(recipient)
            if code not in (250, 251):
                raise _refused(code, text)
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentMailError(_answer(exc.smtp_code, exc.smtp_error)) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientMailError(f"{target.describe()}: {exc}") from exc
        handing_over()
        try:
            code, text = client.data(raw)
        except smtplib.SMTPDataError as exc:
            raise _refused(exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise UncertainMailError(f"connection lost while {target.describe()} took the message: {exc}") from exc
        if code != 250:  # the server answered the data, and did not take it
            raise _refused(code, text)
        return _answer(code, text)
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


def write_eml(directory: Path, message_id: str, raw: bytes) -> str:
    """The embedded default: the message as an `.eml` file (listed at /admin/mail); returns where it went."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{time.strftime('%Y%m%d-%H%M%S')}-{message_id.strip('<>').split('@')[0]}.eml"
    path = directory / name
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(raw)
    tmp.replace(path)  # whole or absent: a reader never sees half a message
    return f"written to {path}"
