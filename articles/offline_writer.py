"""The built-in OFFLINE writer: a deterministic stand-in for the LLM, used when OPENAI_API_KEY is unset.

It is not a language model. It answers through the same JSON contracts as the real model, so the
whole pipeline, quality checks included, runs on a machine with no network:

- ``write``: a backlink order's ``append_sentence`` reply, one templated sentence added to the end
  of a prose paragraph (an ``insert_after`` paragraph when no paragraph can take a sentence);
- ``write_article``: a whole sponsored article assembled from sentence templates whose slots
  (adjectives, nouns, openers…) are drawn from a seed of the brief, so two articles, or two
  drafts of one brief, share few five-word runs and pass the near-copy check against each other.

Versions it writes record the model name ``OFFLINE_MODEL_NAME`` so nobody mistakes them for LLM output.
"""

from __future__ import annotations

import hashlib
import json
import random
import re

from articles.drafting.article import ArticleBrief, count_words
from articles.drafting.backlink import APPEND_SENTENCE, INSERT_AFTER, BacklinkBrief, can_append
from articles.openai_api import LLMReply

OFFLINE_MODEL_NAME = "offline-writer (no LLM)"

# One sentence each, the length of an ordinary sentence of prose (19-20 words with a 3-word anchor).
_SENTENCES = [
    "Readers who want to take this further will find [[{anchor}]] a practical companion to the points above.",
    "If you are weighing your options at this stage, [[{anchor}]] is worth a look before you decide.",
    "For a closer look at how this works in practice, see [[{anchor}]], which covers it with concrete examples.",
    "Once the basics are clear, [[{anchor}]] is one sensible next step that builds on the ideas discussed here.",
]
# Two sentences each: a new paragraph, for an article where no paragraph can take a sentence.
_TEMPLATES = [
    "Readers who want to take this further will find [[{anchor}]] a practical companion to the points above. "
    "It goes into the kind of hands-on detail that this section can only touch on.",
    "If you are weighing your options at this stage, [[{anchor}]] is worth a look before you decide. "
    "It offers a useful second perspective on the same questions.",
    "For a closer look at how this works in practice, see [[{anchor}]], which covers the topic with "
    "concrete examples. It pairs well with the advice in this article.",
    "Many readers ask where to start once the basics are clear; [[{anchor}]] is one sensible next step. "
    "It builds directly on the ideas discussed here.",
]


def write(brief: BacklinkBrief) -> LLMReply:
    """Append one templated sentence to a prose paragraph that ends a sentence (as the prompt asks
    first); in an article with no such paragraph, insert a templated two-sentence paragraph.

    Deterministic for a given brief; each earlier draft moves on to the next unused
    (placement, template) pair, so a regeneration differs from the drafts before it.
    """
    paragraphs = brief.paragraphs
    candidates = [i for i, p in enumerate(paragraphs) if can_append(p)]
    mode, templates = APPEND_SENTENCE, _SENTENCES
    if not candidates:
        candidates, mode, templates = list(range(len(paragraphs))), INSERT_AFTER, _TEMPLATES
    seed = int(hashlib.sha256(f"{brief.target_url}|{brief.anchor_text}".encode()).hexdigest(), 16)
    tried = set(brief.previous)
    shift = len(brief.previous)
    for step in range(len(candidates) * len(templates)):
        index = candidates[(seed + shift + step) % len(candidates)]
        paragraph = templates[(seed // 7 + shift + step // len(candidates)) % len(templates)].format(
            anchor=brief.anchor_text
        )
        if (index, paragraph) not in tried:
            break
    content = json.dumps({"paragraph_index": index, "mode": mode, "paragraph": paragraph})
    return LLMReply(content=content, model=OFFLINE_MODEL_NAME, prompt_tokens=0, completion_tokens=0)


# --- Whole articles ----------------------------------------------------------------------------

_TITLES = [
    "{Topic}: A Practical Guide",
    "{Topic}: What to Know First",
    "{Topic}: Common Questions Answered",
    "{Topic}, Step by Step",
    "{Topic}: Mistakes to Avoid",
    "{Topic}: A Beginner's Guide",
    "{Topic}: Ideas That Work",
    "{Topic} in Practice",
    "{Topic}: The Essentials",
    "{Topic}: Where to Start",
]
_HEADINGS = [
    "Start with the basics", "Common mistakes to avoid", "Choosing what fits you", "Costs and trade-offs",
    "Making it a habit", "Measuring progress", "What experienced people do differently",
    "Planning the first steps", "Questions worth asking", "Small changes with big effects",
    "When to ask for help", "Keeping it simple", "Setting realistic goals", "Learning from others",
    "Getting the details right", "Staying on course",
]  # fmt: skip
_CLOSINGS = ["Bringing it together", "The short version", "Where to go from here", "Final thoughts"]
_ADJ = [
    "practical", "careful", "simple", "steady", "thoughtful", "consistent", "honest", "modest",
    "clear", "patient", "realistic", "deliberate", "measured", "flexible", "focused", "sensible",
    "small", "regular", "informed", "gradual"
]  # fmt: skip
_NOUNS = [
    "habits", "choices", "decisions", "routines", "checks", "priorities", "details", "questions",
    "goals", "budgets", "plans", "tests", "notes", "comparisons", "reviews", "experiments",
    "standards", "limits", "signals", "tools"
]  # fmt: skip
_VERBS = [
    "pay off",
    "make a real difference",
    "save time",
    "prevent costly mistakes",
    "build confidence",
    "reduce waste",
    "add up",
    "keep costs down",
    "avoid surprises",
    "sharpen judgement",
]
_WHEN = [
    "over a few weeks",
    "in the first month",
    "by the end of the year",
    "after a little practice",
    "within a season",
    "from the very start",
    "over the long run",
    "sooner than expected",
]
_PEOPLE = [
    "beginners", "experienced readers", "small teams", "busy households", "first-time buyers",
    "professionals", "families", "newcomers", "enthusiasts", "careful shoppers"
]  # fmt: skip
_OPENERS = [
    "In practice,",
    "Over time,",
    "For most people,",
    "As a rule,",
    "More often than not,",
    "At first glance,",
    "Put simply,",
    "Looking closer,",
    "On balance,",
    "Early on,",
    "Above all,",
    "In short,",
]
# Slots every few words keep fixed runs short, so different articles share few five-word runs.
_FILLERS = [
    "{opener} {subject} rewards {adj} {noun}.",
    "{People} often find {adj} {noun} {verb}.",
    "{Adj} {noun} around {subject} {verb} {when}.",
    "{opener} {adj} {noun} come first.",
    "Few {people} regret {adj} {noun}.",
    "When {people} approach {subject}, {adj} {noun} {verb}.",
    "{opener} {adj} {noun} beat grand plans.",
    "Write down {adj} {noun} first; {adj2} {noun2} {verb}.",
    "{People} reviewing {noun} {when} {verb} too.",
    "Test {adj} {noun} before committing {when}.",
    "{opener} {subject} needs {adj} {noun} more than talent.",
    "Compare {noun} with what {people} report.",
    "A {adj} budget for {noun} keeps {subject} manageable.",
    "{opener} small {noun} {verb}.",
    "Revisit your {noun} {when}.",
    "{People} who skip {noun} rarely {verb}.",
    "Treat {subject} as {adj} {noun}, not one decision.",
    "{opener} {adj} {noun} and {adj2} {noun2} work together.",
    "{Adj} {noun} help {people} {verb2}.",
    "{People} trust {adj} {noun} {when}.",
    "{opener} {noun} matter more than {noun2}.",
    "Ask which {noun} {verb} for {people}.",
    "Many {people} underrate {adj} {noun}.",
    "{Subject} improves with {adj} {noun}.",
    "{opener} {people} learn {subject} through {adj} {noun}.",
    "Pair {adj} {noun} with {adj2} {noun2}.",
    "{opener} {adj} {noun} keep {subject} on track.",
    "Expect {adj} {noun} to {verb} {when}.",
    "{People} notice {adj} {noun} {when}.",
    "{opener} {noun} and {noun2} both {verb}.",
]
_KEYWORD_SENTENCES = [
    "Early on, {kw} deserves attention from {people}.",
    "A {adj} look at {kw} will {verb}.",
    "Many {people} start with {kw}, a {adj} choice.",
    "Weigh {kw} against your {noun}.",
    "{opener} {kw} shows why {adj} {noun} matter.",
    "{People} asking about {kw} want {adj} {noun}.",
]
_LINK_SENTENCES = [
    "For a closer look at {subject}, [[{anchor}]] is a useful next stop.",
    "Readers who want more depth will find [[{anchor}]] worth a visit.",
    "If you are comparing options, [[{anchor}]] offers a helpful starting point.",
    "To see how this works in practice, visit [[{anchor}]] and compare notes.",
    "{People} weighing {adj} {noun} can turn to [[{anchor}]] for detail.",
]
_INTROS = [
    "{Topic} rewards a little planning.",
    "{Topic} raises more questions than most people expect.",
    "{Topic} is worth getting right.",
    "Plenty of {people} wonder about {topic}.",
    "{Topic} looks simple from the outside.",
]
_TITLE_UNSAFE = re.compile(r"[\[\]{}<>#*_`|\\]")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _plain(text: str) -> str:
    """``text`` without Markdown characters, and not starting like a heading, list or quote."""
    return re.sub(r"^\W+", "", " ".join(_TITLE_UNSAFE.sub("", text).split()))


def _article_title(topic: str, previous: tuple[str, ...], offset: int) -> str:
    words = _plain(topic).split() or ["A", "sponsored", "article"]
    earlier = {" ".join(t.casefold().split()) for t in previous}
    for take in range(len(words), 0, -1):  # shorten a long topic until the title fits
        short = " ".join(words[:take])
        for step in range(len(_TITLES)):
            template = _TITLES[(offset + step) % len(_TITLES)]
            title = template.format(Topic=_cap(short), topic=short)
            if len(title) <= 150 and " ".join(title.casefold().split()) not in earlier:
                return title
    return f"Notes on {' '.join(words[:8])}, part {len(previous) + 1}"[:150]


class _Sentences:
    """Sentences with their slots drawn from one seeded generator."""

    def __init__(self, rng: random.Random, subject: str) -> None:
        self.rng = rng
        self.subject = subject

    def _slots(self) -> dict[str, str]:
        pick = self.rng.choice
        adj, adj2 = self.rng.sample(_ADJ, 2)
        noun, noun2 = self.rng.sample(_NOUNS, 2)
        verb, verb2 = self.rng.sample(_VERBS, 2)
        people = pick(_PEOPLE)
        return {
            "opener": pick(_OPENERS),
            "subject": self.subject if self.rng.random() < 0.5 else "it",
            "adj": adj,
            "adj2": adj2,
            "noun": noun,
            "noun2": noun2,
            "verb": verb,
            "verb2": verb2,
            "when": pick(_WHEN),
            "people": people,
            "People": _cap(people),
            "Adj": _cap(adj),
            "Subject": _cap(self.subject),  # at the start of a sentence "It" would lack a referent
        }

    def intro(self, topic: str) -> str:
        return _cap(self.rng.choice(_INTROS).format(topic=topic, Topic=_cap(topic), **self._slots()))

    def filler(self) -> str:
        return _cap(self.rng.choice(_FILLERS).format(**self._slots()))

    def keyword(self, keyword: str) -> str:
        return _cap(self.rng.choice(_KEYWORD_SENTENCES).format(kw=keyword, Kw=_cap(keyword), **self._slots()))

    def link(self, anchor: str) -> str:
        return _cap(self.rng.choice(_LINK_SENTENCES).format(anchor=anchor, **self._slots()))


def _paragraphs(sentences: list[str]) -> list[str]:
    size = 4
    return [" ".join(sentences[i : i + size]) for i in range(0, len(sentences), size)]


def write_article(brief: ArticleBrief) -> LLMReply:
    """A whole article for ``brief`` that passes the quality checks, deterministic for the brief.

    Each earlier draft (``previous_titles``) moves the seed on, so a regeneration gets a new title
    and new sentences. Length: sentences are added until the body reaches the requested count.
    """
    regeneration = len(brief.previous_titles)
    key = "|".join([brief.topic, *brief.keywords, brief.anchor_text, brief.target_url, str(brief.word_count)])
    seed = int(hashlib.sha256(f"{key}|{regeneration}".encode()).hexdigest(), 16)
    rng = random.Random(seed)
    title = _article_title(brief.topic, brief.previous_titles, seed % len(_TITLES))
    topic = _plain(brief.topic) or "this subject"
    subject = topic if len(topic.split()) <= 6 else (_plain(brief.keywords[0]) if brief.keywords else "")
    subject = subject or "this subject"
    write = _Sentences(rng, subject)

    sections = min(8, max(3, round(brief.word_count / 250)))
    headings = rng.sample(_HEADINGS, sections) + [rng.choice(_CLOSINGS)]
    intro = [write.intro(topic), write.filler(), write.filler()]
    # One list of sentences per section (the last is the conclusion); keywords and the link go first.
    bodies: list[list[str]] = [[] for _ in headings]
    for i, keyword in enumerate(brief.keywords):
        bodies[i % sections].append(write.keyword(keyword))
    bodies[min(1, sections - 1)].insert(1, write.link(brief.anchor_text))

    def assemble() -> str:
        blocks = _paragraphs(intro)
        for heading, sentences in zip(headings, bodies, strict=True):
            blocks.append(f"## {heading}")
            blocks.extend(_paragraphs(sentences) or [write.filler()])
        return "\n\n".join(blocks) + "\n"

    body = assemble()
    turn = 0
    while count_words(body) < brief.word_count:
        bodies[turn % len(bodies)].append(write.filler())
        turn += 1
        body = assemble()
    content = json.dumps({"title": title, "body": body})
    return LLMReply(content=content, model=OFFLINE_MODEL_NAME, prompt_tokens=0, completion_tokens=0)
