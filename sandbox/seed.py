"""Deterministic seed data: `empty`, `demo` (rich, bilingual) and `bench:N` (many cheap requests)."""

from __future__ import annotations

import hashlib
import random
import time
from collections import deque

from sandbox import catalog
from sandbox.records import Account, Comment, Organization, Request
from sandbox.state import SandboxState

DAY_MS = 86_400_000
ORG_NAMES = ("Acme Corp", "ООО «Ромашка»", "Globex Logistics")
CUSTOMER_NAMES = (
    "Alice Brown", "Иван Петров", "Bob Smith", "Мария Соколова", "Carol White", "Дмитрий Орлов",
    "Dave Miller", "Елена Кузнецова", "Erin Clark", "Сергей Волков", "Frank Lewis", "Ольга Смирнова",
    "Grace Hall", "Анна Морозова", "Henry Young", "Павел Новиков", "Irene King", "Татьяна Козлова",
    "Jack Wright", "Николай Лебедев",
)
AGENT_NAMES = ("Support Agent", "Алексей Саппортов", "Dev Liaison")
SUMMARIES = (
    "Cannot log in to the portal", "Не приходят уведомления", "Export to Excel fails with error 500",
    "Ошибка при синхронизации контактов", "Invoice for March is missing", "Нужен акт сверки за квартал",
    "Mobile app crashes on start", "Медленно открывается чат", "How do I add a new user?",
    "Как настроить двухфакторную аутентификацию?", "Please add dark theme", "Добавьте выгрузку в CSV",
    "Calls drop after 30 seconds", "Не работает поиск по сообщениям", "Billing metric looks wrong",
    "Сервер возвращает 502 после обновления",
)
DESCRIPTIONS = (
    "Steps to reproduce: open the page, press the button, nothing happens.",
    "После обновления до последней версии проблема воспроизводится у всех сотрудников.",
    "It worked yesterday. We changed nothing on our side.",
    "Прикладываю скриншот, ошибка появляется через несколько минут после входа.",
    "This blocks our month-end closing, please help.",
)
AGENT_REPLIES = (
    "Thank you, we are looking into it.", "Спасибо, взяли в работу.",
    "Could you send us the logs from the client?", "Пришлите, пожалуйста, версию приложения и логи.",
    "The fix will be in the next release.", "Исправление войдёт в ближайший релиз.",
)
CUSTOMER_REPLIES = ("Here are the logs.", "Вот логи, посмотрите, пожалуйста.", "Any news?", "Есть новости?")
INTERNAL_NOTES = ("Reproduced on staging.", "Воспроизвели на тестовом стенде, передаём в разработку.",
                  "Customer is on an old version.", "Похоже на дубль SUP-3.")


def _account_id(prefix: str, text: str) -> str:
    return f"{prefix}:{hashlib.sha1(text.encode()).hexdigest()[:24]}"


def base_accounts(state: SandboxState, email: str) -> None:
    """Create the admin (the API caller) and the agents; every seed has them."""
    admin = Account(_account_id("557058", email), email, "Sandbox Admin", "admin", "admin")
    state.admin = state.add_account(admin)
    for i, name in enumerate(AGENT_NAMES):
        agent = Account(_account_id("557058", name), f"agent{i + 1}@sandbox.local", name, "agent", f"agent{i + 1}")
        state.add_account(agent)
        state.agent = state.agent or agent


def _orgs_and_customers(state: SandboxState, now: int, n_customers: int) -> list[Account]:
    for i, name in enumerate(ORG_NAMES):
        state.orgs[str(i + 1)] = Organization(str(i + 1), name, now - 400 * DAY_MS, ["1", "2"])
    customers = []
    for i in range(n_customers):
        name = CUSTOMER_NAMES[i % len(CUSTOMER_NAMES)] + ("" if i < len(CUSTOMER_NAMES) else f" {i}")
        org = str(i % len(ORG_NAMES) + 1)
        acc = Account(_account_id("qm", f"customer{i}"), f"customer{i + 1}@example.com", name, "customer",
                      f"customer{i + 1}", [org])
        customers.append(state.add_account(acc))
    return customers


def _path_to(target: str) -> list[str]:
    """Shortest agent-workflow path from the initial status to `target` (status names)."""
    start = catalog.INITIAL_STATUS.name
    prev: dict[str, str | None] = {start: None}
    todo = deque([start])
    while todo:
        cur = todo.popleft()
        for nxt in catalog.AGENT_WORKFLOW[cur]:
            if nxt not in prev:
                prev[nxt] = cur
                todo.append(nxt)
    path, node = [], target
    while node is not None:
        path.append(node)
        node = prev[node]
    return path[::-1]


def _demo_request(state: SandboxState, rnd: random.Random, customers: list[Account], agents: list[Account],
                  i: int, now: int) -> Request:
    rtype = catalog.REQUEST_TYPES[i % len(catalog.REQUEST_TYPES)]
    desk = catalog.DESK_BY_ID[rtype.desk_id]
    target = catalog.STATUSES[i % len(catalog.STATUSES)].name
    prio = catalog.PRIORITIES[(i // len(catalog.STATUSES)) % len(catalog.PRIORITIES)]
    reporter = rnd.choice(customers)
    created = now - rnd.randint(DAY_MS // 24, 90 * DAY_MS)
    custom = {}
    for f in rtype.fields:
        if f.kind == "select":
            custom[f.id] = rnd.choice(f.options)[0]
        elif f.id.startswith("customfield_"):
            custom[f.id] = f"{rnd.randint(1, 3)}.{rnd.randint(0, 9)}.{rnd.randint(0, 20)}"
    state.next_issue_id += 1
    number = state.next_number[desk.id]
    state.next_number[desk.id] = number + 1
    req = Request(state.next_issue_id, f"{desk.key}-{number}", number, desk.id, rtype.id, rnd.choice(SUMMARIES),
                  rnd.choice(DESCRIPTIONS), reporter, prio.id, catalog.INITIAL_STATUS.id, created, created,
                  created, custom=custom, org_ids=list(reporter.org_ids))
    span = max(now - created - 60_000, 60_000)
    path = [catalog.status_named(n) for n in _path_to(target)]
    times = sorted(created + rnd.randint(1, span) for _ in path[1:])
    req.history = [(path[0].id, created)] + [(s.id, t) for s, t in zip(path[1:], times, strict=True)]
    last = times[-1] if times else created
    agent = rnd.choice(agents)
    req.assignee = agent if len(path) > 1 else None
    for n in range(rnd.randint(0, 4)):
        t = created + rnd.randint(1, max(last - created, 1)) if last > created else created + 1 + n
        kind = rnd.random()
        state.next_comment_id += 1
        if kind < 0.45:
            c = Comment(state.next_comment_id, req.id, rnd.choice(AGENT_REPLIES), True, agent, t, t, agent)
            req.first_response_ms = min(req.first_response_ms or t, t)
        elif kind < 0.75:
            c = Comment(state.next_comment_id, req.id, rnd.choice(CUSTOMER_REPLIES), True, reporter, t, t, reporter)
        else:
            c = Comment(state.next_comment_id, req.id, rnd.choice(INTERNAL_NOTES), False, agent, t, t, agent)
        c.properties["sd.public.comment"] = {"internal": not c.public}
        req.comments.append(c)
        last = max(last, t)
    req.comments.sort(key=lambda c: c.created_ms)
    final = path[-1]
    req.status_id = final.id
    req.status_changed_ms = req.history[-1][1]
    if final.category is catalog.CATEGORY_DONE:
        req.resolution_id = "10001" if "Canceled" in (s.name for s in path) else "10000"
        req.resolved_ms = next(t for sid, t in req.history if catalog.STATUS_BY_ID[sid].category.key == "done")
    req.updated_ms = last
    if final.category is catalog.CATEGORY_DONE and rnd.random() < 0.5:
        req.feedback = {"rating": rnd.randint(1, 5), "comment": rnd.choice(["", "Спасибо!", "Quick fix, thanks"])}
    return req


def seed_demo(state: SandboxState, now: int, count: int = 300) -> None:
    """About 300 requests over 90 days in every status and priority, with public and internal comments."""
    rnd = random.Random("demo")
    customers = _orgs_and_customers(state, now, 20)
    agents = [a for a in state.accounts.values() if a.kind == "agent"]
    for i in range(count):
        state.insert(_demo_request(state, rnd, customers, agents, i, now))


def seed_bench(state: SandboxState, now: int, count: int) -> None:
    """`count` cheap requests (no comments, short history) spread over a year; 100k in about a second."""
    rnd = random.Random(f"bench:{count}")
    customers = _orgs_and_customers(state, now, 50)
    statuses, prios, rtypes = catalog.STATUSES, catalog.PRIORITIES, catalog.REQUEST_TYPES
    initial = catalog.INITIAL_STATUS.id
    # Inserting straight into the dicts (not via state.insert) keeps this loop tight.
    requests, by_id = state.requests, state.by_id
    for i in range(count):
        rtype = rtypes[i % 7]
        desk_id = rtype.desk_id
        number = state.next_number[desk_id]
        state.next_number[desk_id] = number + 1
        state.next_issue_id += 1
        created = now - rnd.randint(DAY_MS // 24, 365 * DAY_MS)
        updated = created + rnd.randint(0, now - created - 1)
        status = statuses[rnd.randrange(13)]
        reporter = customers[i % 50]
        req = Request(state.next_issue_id, f"{'SUP' if desk_id == '1' else 'HELP'}-{number}", number, desk_id,
                      rtype.id, f"Bench request {i + 1}", "Generated for benchmarks.", reporter,
                      prios[i % 5].id, status.id, created, updated, updated, org_ids=reporter.org_ids,
                      history=[(initial, created)] if status.id == initial else
                      [(initial, created), (status.id, updated)])
        if status.category is catalog.CATEGORY_DONE:
            req.resolution_id, req.resolved_ms = ("10001" if status.id == "10010" else "10000"), updated
        requests[req.key] = req
        by_id[req.id] = req
    state.version += 1


def apply_seed(state: SandboxState, seed: str, email: str) -> float:
    """Reset `state` and fill it from `seed`; returns seconds taken. Seeding sends no webhooks."""
    started = time.perf_counter()
    with state.lock:
        listener, state.listener = state.listener, None
        try:
            state.reset()
            now = (int(time.time()) // 60) * 60_000 - 60_000  # a minute back: later writes are newer
            state._last_ms = now + 60_000
            base_accounts(state, email)
            if seed == "demo":
                seed_demo(state, now)
            elif seed.startswith("bench:"):
                seed_bench(state, now, int(seed.split(":", 1)[1]))
            elif seed == "empty":
                _orgs_and_customers(state, now, 20)  # no requests, but people to raise them
            else:
                raise ValueError(f"unknown seed {seed!r}: use demo, empty or bench:N")
            state.seed_name = seed
            state._sorted_cache.clear()
        finally:
            state.listener = listener
    return time.perf_counter() - started
