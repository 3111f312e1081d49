"""Support replies in Jira wiki markup, rendered the one way the portal and the e-mails share."""

from __future__ import annotations

import pytest

from sync.notify.markup import wiki_to_html, wiki_to_text
from sync.notify.wording import WORDS
from tests.portal.test_isolation import assert_inert

IMAGES = {"screenshot.png": "/tickets/SUP-1/attachments/10100", "log file.txt": "/tickets/SUP-1/attachments/10101"}
NAMES = {"5b10ac8d82e05b22cc7d4ef5": "Anna Agent"}


@pytest.mark.parametrize(("body", "expected"), [
    ("h2. What we found\n\nThe disk was full.", "<h2>What we found</h2>"),
    ("||Host||State||\n|web-1|up|\n|web-2|down|", "<th>Host</th>"),
    ("{code:python}\nif a < b:\n    print('x')\n{code}", '<code class="language-python">if a &lt; b:'),
    ("{quote}Customer wrote: it fails at login{quote}", "<blockquote>"),
    ("{noformat}Error 0x80070005 *not bold*{noformat}", "<pre><code>Error 0x80070005 *not bold*"),
    ("# Open Settings\n# Click Reset\n# Sign in again", "<ol>\n<li>Open Settings</li>"),
    ("!screenshot.png|thumbnail!", '<img src="/tickets/SUP-1/attachments/10100" alt="screenshot.png">'),
    ("[~accountid:5b10ac8d82e05b22cc7d4ef5] will call you", "@Anna Agent will call you"),
    ("{color:red}Urgent:{color} restart the router", '<font color="red">Urgent:</font>'),
    ("See [the guide|https://help.example.com/reset]", '<a href="https://help.example.com/reset" rel="noopener'),
    ("*bold* and _italic_", "<strong>bold</strong> and <em>italic</em>"),
])
def test_each_construct_renders(body: str, expected: str) -> None:
    assert expected in wiki_to_html(body, images=IMAGES, names=NAMES)


@pytest.mark.parametrize("body", [
    "<script>alert(1)</script>", "[click|javascript:alert(1)]", "!https://tracker.example/pixel.png!",
    "{color:expression(alert(1))}x{color}", '<img src=x onerror="alert(1)">',
])
def test_hostile_bodies_stay_inert(body: str) -> None:
    assert_inert(wiki_to_html(body))  # no attachments: no <img> at all, nothing that runs or loads


def test_images_only_from_the_requests_attachments() -> None:
    assert "<img" not in wiki_to_html("!other.png!", images=IMAGES)
    assert "<img" not in wiki_to_html("!screenshot.png!")


@pytest.mark.parametrize(("body", "page", "mail"), [
    ("!screenshot.png!", '<img src="/tickets/SUP-1/attachments/10100" alt="screenshot.png">',
     '<a href="/tickets/SUP-1/attachments/10100" rel="noopener noreferrer nofollow">screenshot.png</a>'),
    ("[^log file.txt]",
     '<a href="/tickets/SUP-1/attachments/10101" rel="noopener noreferrer nofollow">log file.txt</a>',
     '<a href="/tickets/SUP-1/attachments/10101" rel="noopener noreferrer nofollow">log file.txt</a>'),
    ("!log file.txt|width=300!", '<img src="/tickets/SUP-1/attachments/10101" alt="log file.txt">',
     '<a href="/tickets/SUP-1/attachments/10101" rel="noopener noreferrer nofollow">log file.txt</a>'),
    ("[^internal.pdf] and !internal.png!", "<p>internal.pdf and internal.png</p>",
     "<p>internal.pdf and internal.png</p>"),
])
def test_attachments_on_the_page_and_in_mail(body: str, page: str, mail: str) -> None:
    assert page in wiki_to_html(body, images=IMAGES)
    assert mail in wiki_to_html(body, images=IMAGES, images_as_links=True)


def test_attachments_in_the_text_part() -> None:
    body = "See !screenshot.png|thumbnail!, [^log file.txt], [^internal.pdf] and !https://x.example/p.png!"
    assert wiki_to_text(body, images=IMAGES) == ("See screenshot.png </tickets/SUP-1/attachments/10100>, log file.txt "
                                                 "</tickets/SUP-1/attachments/10101>, internal.pdf and "
                                                 "https://x.example/p.png")


def test_text_part_reads_plainly() -> None:
    text = wiki_to_text("h2. Done\n\n{color:red}restart{color} [~accountid:5b10ac8d82e05b22cc7d4ef5]", names=NAMES)
    assert text == "## Done\n\nrestart @Anna Agent"


def test_every_locale_has_every_mail_string() -> None:
    assert set(WORDS["ru"]) == set(WORDS["en"])
    assert all(WORDS["ru"][k] for k in WORDS["en"])
