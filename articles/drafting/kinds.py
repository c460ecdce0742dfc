"""The kinds of draft a writer produces, each one object: contract, offline stand-in, checks, report.

A pipeline is handed a ``DraftKind`` and never asks which kind it holds: the writer reads the
prompt and reply schema from it (or its ``offline`` stand-in), the checks come with its
``evaluate``, and its ``report`` builds the QC report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from articles import offline_writer
from articles.drafting import article, backlink
from articles.drafting.checks import Checked
from articles.drafting.report import qc_report
from articles.openai_api import LLMReply

B = TypeVar("B")
D = TypeVar("D")


@dataclass(frozen=True)
class DraftKind(Generic[B, D]):
    """One kind of draft, for a brief of type ``B`` giving drafts of type ``D``.

    ``whole_article``: the answer is a whole article, so the model gets the longer timeout.
    ``limits``: the thresholds the QC report lists for a brief (None: the report has no ``limits``).
    ``reply_tokens``: about the most a passing reply costs, so a run can stop before a call it
    cannot pay for.
    """

    name: str
    schema_name: str
    schema: dict[str, Any]
    whole_article: bool
    messages: Callable[[B, Sequence[Sequence[str]]], list[dict[str, str]]]
    offline: Callable[[B], LLMReply]
    evaluate: Callable[[B, str], Checked[D]]
    reply_tokens: Callable[[B], int]
    limits: Callable[[B], dict[str, Any]] | None = None

    def report(self, attempts: Sequence[Checked[D]], *, writer: str, brief: B) -> dict[str, Any]:
        return qc_report(attempts, writer=writer, limits=self.limits(brief) if self.limits else None)


BACKLINK: DraftKind[backlink.BacklinkBrief, backlink.BacklinkDraft] = DraftKind(
    name="backlink",
    schema_name=backlink.SCHEMA_NAME,
    schema=backlink.REPLY_SCHEMA,
    whole_article=False,
    messages=backlink.build_messages,
    offline=offline_writer.write,
    evaluate=backlink.evaluate_reply,
    reply_tokens=backlink.reply_tokens,
)
ARTICLE: DraftKind[article.ArticleBrief, article.ArticleDraft] = DraftKind(
    name="article",
    schema_name=article.SCHEMA_NAME,
    schema=article.REPLY_SCHEMA,
    whole_article=True,
    messages=article.build_messages,
    offline=offline_writer.write_article,
    evaluate=article.evaluate_reply,
    reply_tokens=article.reply_tokens,
    limits=article.limits,
)
