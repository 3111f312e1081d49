"""What a customer reads when an action could not reach JSM (English and Russian), by failure code.

The outbox stores a short code in `OutboxAction.error` ("code: detail"); JSM's own answer goes to
`jira_response` for admins. Customers never see raw JSM texts: those name workflows and fields.
"""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "not_allowed_now": {
        "en": "Support's system did not accept this action for the request in its current state. "
              "The page now offers only what is still possible; if you still need help, create a new request.",
        "ru": "Система поддержки не приняла это действие для обращения в его текущем состоянии. "
              "Страница теперь предлагает только то, что ещё возможно; если помощь всё ещё нужна, "
              "создайте новое обращение.",
    },
    "closed": {
        "en": "The request is closed, so it can no longer be commented on.",
        "ru": "Обращение закрыто, комментировать его больше нельзя.",
    },
    "invalid": {
        "en": "Support's system rejected the form. Please check the fields and submit it again.",
        "ru": "Система поддержки отклонила форму. Проверьте поля и отправьте её ещё раз.",
    },
    "forbidden": {
        "en": "Support's system does not allow this for your account. Our administrators have been told.",
        "ru": "Система поддержки не разрешает это вашей учётной записи. Администраторы уже знают об этом.",
    },
    "not_found": {
        "en": "The request no longer exists in support's system.",
        "ru": "Обращение больше не существует в системе поддержки.",
    },
    "unavailable": {
        "en": "Support's system has been unavailable for too long. Our administrators will send it again.",
        "ru": "Система поддержки слишком долго недоступна. Администраторы отправят действие повторно.",
    },
    "error": {
        "en": "This could not be sent to support. Our administrators have been told.",
        "ru": "Не удалось передать это в поддержку. Администраторы уже знают об этом.",
    },
}


def customer_message(error: str | None, locale: str | None = "en") -> str | None:
    """The customer's wording for a stored `code: detail` error, in `locale` (English fallback)."""
    if not error:
        return None
    code = error.split(":", 1)[0].strip()
    texts = MESSAGES.get(code, MESSAGES["error"])
    lang = (locale or "en").split("-")[0].split("_")[0].lower()
    return texts.get(lang, texts["en"])


def code_for_status(status: int | None, messages: tuple[str, ...] = ()) -> str:
    """The failure code of a permanent JSM answer (400/403/404/409…)."""
    said = " ".join(messages).lower()
    if status == 400 and "closed" in said:
        return "closed"
    if status in (400, 409) and ("transition" in said or "feedback" in said or "resolved" in said):
        return "not_allowed_now"
    if status == 400:
        return "invalid"
    if status in (401, 403):
        return "forbidden"
    if status == 404:
        return "not_found"
    if status == 409:
        return "not_allowed_now"
    return "error"
