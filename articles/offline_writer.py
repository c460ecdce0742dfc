"""The built-in OFFLINE writer: a deterministic stand-in for the LLM, used when OPENAI_API_KEY is unset.

It is not a language model. It answers through the same JSON contract as the real model (an
``insert_after`` paragraph built from fixed sentence templates), so the whole pipeline, quality
checks included, runs on a machine with no network. Versions it writes record the model name
``OFFLINE_MODEL_NAME`` so nobody mistakes them for LLM output.
"""

from __future__ import annotations

import hashlib
import json

from articles.integration import BacklinkBrief, can_replace
from articles.openai_api import LLMReply

OFFLINE_MODEL_NAME = "offline-writer (no LLM)"

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
    """Pick a link-free prose paragraph and insert a templated sentence pair after it.

    Deterministic for a given brief; each earlier draft moves on to the next unused
    (placement, template) pair, so a regeneration differs from the drafts before it.
    """
    paragraphs = brief.paragraphs
    candidates = [i for i, p in enumerate(paragraphs) if can_replace(p)] or list(range(len(paragraphs)))
    seed = int(hashlib.sha256(f"{brief.target_url}|{brief.anchor_text}".encode()).hexdigest(), 16)
    tried = set(brief.previous)
    shift = len(brief.previous)
    for step in range(len(candidates) * len(_TEMPLATES)):
        index = candidates[(seed + shift + step) % len(candidates)]
        paragraph = _TEMPLATES[(seed // 7 + shift + step // len(candidates)) % len(_TEMPLATES)].format(
            anchor=brief.anchor_text
        )
        if (index, paragraph) not in tried:
            break
    content = json.dumps({"paragraph_index": index, "mode": "insert_after", "paragraph": paragraph})
    return LLMReply(content=content, model=OFFLINE_MODEL_NAME, prompt_tokens=0, completion_tokens=0)
