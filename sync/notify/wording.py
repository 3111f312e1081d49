"""The words of every e-mail, in English and Russian (the recipient's locale picks one; a test keeps both complete)."""

from __future__ import annotations

from collections.abc import Mapping

LOCALES = ("en", "ru")

WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "subject_one": "[{key}] {summary}",
        "subject_many": "{count} of your requests changed",
        "status_changed": "Status: {label}",
        "status_was": "was {label}",
        "support_replied": "{author} replied:",
        "support": "Support",
        "reminder": "A reminder about this request",
        "rate_prompt": "Your request is resolved. How did we do? Rate it from 1 to 5 on the request page:",
        "rate_link": "Rate the request",
        "open_request": "Open the request",
        "why": "You receive this because you follow this request in {product}.",
        "unsubscribe": "Stop these e-mails",
        "preferences": "E-mail settings",
        "invitation_subject": "You are invited to {product}",
        "invitation_body": "An account was created for you. Choose a password to sign in (the link works once, "
                           "for 7 days):",
        "reset_subject": "Reset your {product} password",
        "reset_body": "Someone (hopefully you) asked to reset your password. The link works once, for 1 hour. "
                      "If it was not you, ignore this e-mail.",
        "set_password": "Choose a password",
        "digest_subject": "Your requests today",
        "digest_org_subject": "Your organisation's requests today",
        "digest_why": "You receive this daily digest because you chose it in {product}.",
        "digest_new": "New requests",
        "digest_waiting": "Waiting for you",
        "digest_resolved": "Resolved",
        "test_subject": "{product}: test e-mail",
        "test_body": "This is a test e-mail. Mail delivery works.",
    },
    "ru": {
        "subject_one": "[{key}] {summary}",
        "subject_many": "Изменились ваши заявки: {count}",
        "status_changed": "Статус: {label}",
        "status_was": "был: {label}",
        "support_replied": "{author} ответил(а):",
        "support": "Поддержка",
        "reminder": "Напоминание об этой заявке",
        "rate_prompt": "Ваша заявка решена. Оцените, пожалуйста, нашу работу от 1 до 5 на странице заявки:",
        "rate_link": "Оценить заявку",
        "open_request": "Открыть заявку",
        "why": "Вы получили это письмо, потому что следите за этой заявкой в {product}.",
        "unsubscribe": "Отписаться от писем",
        "preferences": "Настройки писем",
        "invitation_subject": "Приглашение в {product}",
        "invitation_body": "Для вас создана учётная запись. Задайте пароль, чтобы войти (ссылка одноразовая и "
                           "действует 7 дней):",
        "reset_subject": "Сброс пароля {product}",
        "reset_body": "Кто-то (надеемся, вы) попросил сбросить ваш пароль. Ссылка одноразовая и действует 1 час. "
                      "Если это были не вы, просто проигнорируйте письмо.",
        "set_password": "Задать пароль",
        "digest_subject": "Ваши заявки за день",
        "digest_org_subject": "Заявки вашей организации за день",
        "digest_why": "Вы получаете эту ежедневную сводку, потому что выбрали её в {product}.",
        "digest_new": "Новые заявки",
        "digest_waiting": "Ждут вашего ответа",
        "digest_resolved": "Решённые",
        "test_subject": "{product}: тестовое письмо",
        "test_body": "Это тестовое письмо. Отправка почты работает.",
    },
}

PRODUCT = "JSM Companion"


def words(locale: str | None) -> Mapping[str, str]:
    """The wording of `locale` (English when unknown)."""
    return WORDS.get(locale or "en", WORDS["en"])
