"""What an order's runs spend on the model: tokens recorded per run as each reply arrives.

``MAX_TOKENS_PER_ORDER`` is judged on these rows (``RunSpend.objects.tokens_spent``): the
regenerate guard refuses once they reach it, and a run stops before a call that would pass it
(``purchases.services.draft_run``).
"""

from __future__ import annotations

from uuid import UUID

from django.db.models import F

from articles.openai_api import LLMReply
from purchases.models import RunSpend


def run_spend_record(*, order_id: UUID | str, run: int, reply: LLMReply) -> None:
    """Add ``reply``'s tokens to run ``run`` of the order, at once and outside any run transaction.

    Two short statements (get-or-create, then an ``F()`` increment), so concurrent tries of one run
    never lose a reply. Replies that cost nothing (the offline writer) are not recorded.
    """
    if not reply.prompt_tokens and not reply.completion_tokens:
        return
    spend, _ = RunSpend.objects.get_or_create(order_id=order_id, run=run)
    RunSpend.objects.filter(pk=spend.pk).update(
        llm_model=reply.model[:100],
        prompt_tokens=F("prompt_tokens") + reply.prompt_tokens,
        completion_tokens=F("completion_tokens") + reply.completion_tokens,
        replies=F("replies") + 1,
    )
