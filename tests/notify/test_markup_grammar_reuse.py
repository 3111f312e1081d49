"""The Jira-markup parser is built once per thread and reused: it must convert exactly as a fresh one."""

from __future__ import annotations

import threading

from jira2markdown import convert

from sync.notify.markup import _ELEMENTS, _markdown, wiki_to_html

SAMPLES = [
    "Please *check* the logs.",
    "h2. What we found\n\nThe disk was full.\n# one\n# two",
    "||Host||State||\n|web-1|up|",
    "[~accountid:abc] will call [~accountid:def]",
    "{code:python}\nif a < b:\n    pass\n{code}\n{quote}q{quote}",
    "See [the guide|https://help.example.com/reset] and !shot.png!",
    "{color:red}Urgent:{color} -struck- +under+ ^sup^ ~sub~ {{mono}}",
]


def test_the_reused_parser_converts_as_a_fresh_one() -> None:
    names = {"abc": "Anna Agent", "def": "Dee"}
    # One fresh parser per sample is what jira2markdown.convert builds (about a second each: few samples).
    sample = "\n\n".join(SAMPLES)
    assert _markdown(sample, names) == convert(sample, usernames=dict(names), elements=_ELEMENTS)
    assert _markdown(SAMPLES[0], {}) == convert(SAMPLES[0], elements=_ELEMENTS)


def test_names_of_one_conversion_do_not_leak_into_the_next() -> None:
    assert "@Anna" in _markdown("[~accountid:abc]", {"abc": "Anna"})
    assert "@abc" in _markdown("[~accountid:abc]", {})


def test_each_thread_gets_its_own_parser_with_its_own_names() -> None:
    results: dict[str, str] = {}

    def render(name: str) -> None:
        for _ in range(3):
            results[name] = wiki_to_html("[~accountid:abc] replied", names={"abc": name})

    threads = [threading.Thread(target=render, args=(name,)) for name in ("Anna", "Boris", "Chen")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {name: f"@{name} replied" in html for name, html in results.items()} == \
        {"Anna": True, "Boris": True, "Chen": True}
