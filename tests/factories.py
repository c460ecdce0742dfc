"""Test data built through the project's own services."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from typing import Any

from articles.models import Article
from articles.services import article_create
from policy.models import ArticleNicheRefusal, BlockedDomain, Niche
from purchases.services.checkout import order_article_checkout_create, order_checkout_create

_seq = itertools.count(1)

ARTICLE_BODY = """# Ten Ways to Sleep Better

Good sleep is the cheapest performance upgrade there is, yet most of us treat it as optional.

## Keep a schedule

Going to bed and waking at the same time every day trains your body clock. Weekends count too.

## Mind the light

Bright screens late at night delay melatonin. Dim the lights an hour before bed and keep the phone out of reach.

Morning daylight does the opposite and helps you feel sleepy at the right time in the evening.

## Cool and quiet

A cool, dark and quiet room makes falling asleep easier. The [sleep foundation](https://www.sleepfoundation.org/) suggests a room temperature of around 18 degrees.
"""


# A backlink reply that passes every check on ``ARTICLE_BODY``: a new paragraph after paragraph 3.
GOOD_BACKLINK_REPLY = json.dumps(
    {
        "paragraph_index": 3,
        "mode": "insert_after",
        "paragraph": "If your neck aches in the morning, [[memory foam pillows]] can help keep your spine aligned "
        "through the night.",
    }
)


def make_published_article(**overrides: Any) -> Article:
    n = next(_seq)
    fields: dict[str, Any] = {
        "title": f"Ten Ways to Sleep Better {n}",
        "slug": f"sleep-better-{n}",
        "body_markdown": ARTICLE_BODY,
        "backlink_price": Decimal("49.00"),
        "max_backlinks": 3,
    }
    fields.update(overrides)
    return article_create(**fields)


def make_niche(name: str, keywords: str, rule: str = "allowed", **fields: Any) -> Niche:
    """A niche as staff save it in admin (validated by the model's ``full_clean``)."""
    niche = Niche(name=name, keywords=keywords, rule=rule, **fields)
    niche.full_clean()
    niche.save()
    return niche


def block_domain(domain: str) -> BlockedDomain:
    """A blocked domain as staff save it in admin (normalised by ``full_clean``)."""
    blocked = BlockedDomain(domain=domain)
    blocked.full_clean()
    blocked.save()
    return blocked


def refuse_niche(article: Article, niche: Niche) -> ArticleNicheRefusal:
    return ArticleNicheRefusal.objects.create(article=article, niche=niche)


def make_order(article: Article, **overrides: Any) -> tuple[Any, str]:
    n = next(_seq)
    fields: dict[str, Any] = {
        "article_id": article.pk,
        "target_url": f"https://shop{n}.example-store.com/pillows",
        "anchor_text": "memory foam pillows",
        "customer_email": f"buyer{n}@example.com",
        "customer_notes": "",
    }
    fields.update(overrides)
    return order_checkout_create(**fields)


def make_article_order(**overrides: Any) -> tuple[Any, str]:
    """An unpaid new-article order through the checkout service; returns it and its token."""
    n = next(_seq)
    fields: dict[str, Any] = {
        "topic": "Choosing a pillow for side sleepers",
        "keywords": list(KEYWORDS),
        "word_count": WORDS,
        "target_url": f"https://shop{n}.example-store.com/pillows",
        "anchor_text": ANCHOR,
        "customer_email": f"writer{n}@example.com",
        "customer_notes": "",
    }
    fields.update(overrides)
    return order_article_checkout_create(**fields)


# --- Model replies for new-article orders --------------------------------------------------------

TITLE = "How to Choose a Pillow When You Sleep on Your Side"
KEYWORDS = ("pillow loft", "cervical support")
ANCHOR = "memory foam pillows"
WORDS = 300
SECTION_HEADINGS = [
    "What your neck needs",
    "Firmness and fill",
    "Caring for your pillow",
    "When to replace it",
]
PROSE = [
    "A side sleeper's shoulder leaves a wide gap between the mattress and the ear.",
    "Filling that gap evenly keeps the head level through the night.",
    "Foam that is too soft lets the head sink, while a firm block pushes it upward.",
    "Shredded fill can be moved around until the height feels right.",
    "Many people notice stiffness in the morning long before they blame their bedding.",
    "A quick test is to lie down and ask someone whether your nose lines up with your breastbone.",
    "Covers with a zip make washing simple and keep dust mites in check.",
    "Most fillings lose their bounce after two or three years of nightly use.",
    "Folding an old pillow in half and watching whether it springs back tells you a lot.",
    "Wider shoulders usually call for a taller pillow than narrow ones do.",
    "Cooling gels help people who wake up warm, though they add weight.",
    "Trying a pillow for a few weeks is fairer than judging it after one night.",
]


def _words(text: str) -> int:
    return len(text.replace("#", " ").split())


def article_body(
    *,
    words: int = WORDS,
    keywords: tuple[str, ...] = KEYWORDS,
    anchor: str = ANCHOR,
    headings: int = 3,
    extra: str = "",
    pasted: str = "",
) -> str:
    """A Markdown body that passes every quality check for the default brief (or breaks the one asked).

    ``extra`` is appended to the introduction; ``pasted`` is inserted after it verbatim.
    """
    intro = "Side sleepers ask more of a pillow than anyone else. "
    if keywords:
        intro += "This guide looks at " + " and ".join(keywords) + ". "
    intro += f"If you are shopping now, [[{anchor}]] are a sensible place to begin." if anchor else ""
    blocks = [(intro + " " + extra).strip()]
    if pasted:
        blocks.append(pasted.strip())
    sections: list[list[str]] = [[] for _ in range(max(headings, 1))]
    sentences = itertools.cycle(PROSE)
    turn = 0

    def render() -> str:
        out = list(blocks)
        for i, sentences_of_section in enumerate(sections):
            if i < headings:
                out.append(f"## {SECTION_HEADINGS[i]}")
            out.extend(
                " ".join(sentences_of_section[j : j + 3]) for j in range(0, len(sentences_of_section), 3)
            )
        return "\n\n".join(b for b in out if b) + "\n"

    while _words(render()) < words:
        sections[turn % len(sections)].append(next(sentences))
        turn += 1
    return render()


def article_reply(*, title: str = TITLE, body: str | None = None, **body_options: Any) -> str:
    """The JSON the model answers for a new article."""
    return json.dumps({"title": title, "body": body if body is not None else article_body(**body_options)})
