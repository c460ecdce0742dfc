"""Reads of the link policy: what it decides for one link, before anything is written or paid.

``policy_decide`` is the one place the rules are applied; checkout (``purchases.services.checkout``)
and the quote endpoint both call it. Three queries at most: blocked domains (by the host's
suffixes, an index lookup), active niches, and the article's refused niches.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Literal
from urllib.parse import urlsplit

from django.conf import settings

from articles.models import Article
from policy.domains import host_suffixes
from policy.errors import LinkRefused
from policy.matching import first_match, phrases, url_text
from policy.models import ArticleNicheRefusal, BlockedDomain, Niche, NicheRule

OrderKind = Literal["backlink", "article"]
CENT = Decimal("0.01")
MAX_CUSTOMER_KEYWORDS = 20
# The fields a niche is matched against, in the order a refusal names them (the API's names).
FIELD_WORDS = {
    "targetUrl": "the target URL",
    "anchorText": "the anchor text",
    "customerNotes": "the notes",
    "topic": "the topic",
    "keywords": "the keywords",
}


@dataclass(frozen=True)
class PolicyDecision:
    """What the policy says of one link: refused (``field`` and ``reason``) or its price.

    ``rule`` is the applied niche's rule (``allowed``, ``surcharge``), ``blocked`` / ``blocked_domain``
    / ``refused_by_article`` for a refusal, or ``""`` when no niche matched. ``needs_approval`` is
    true when any niche the link matched asks for staff approval.
    """

    allowed: bool
    base: Decimal
    surcharge: Decimal
    currency: str
    niche: Niche | None = None
    rule: str = ""
    field: str = ""
    reason: str = ""
    needs_approval: bool = False

    @property
    def total(self) -> Decimal:
        return self.base + self.surcharge

    @property
    def niche_name(self) -> str:
        return self.niche.name if self.niche else ""

    def raise_if_refused(self) -> None:
        if not self.allowed:
            raise LinkRefused(self.reason, fields={self.field: [self.reason]})


def _surcharge(niche: Niche, base: Decimal) -> Decimal:
    if niche.surcharge_percent is not None:
        return (base * niche.surcharge_percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return (niche.surcharge_amount or Decimal(0)).quantize(CENT)


def _base_price(*, article: Article | None, kind: OrderKind) -> tuple[Decimal, str]:
    if kind == "article" or article is None:
        return Decimal(settings.ARTICLE_ORDER_PRICE), str(settings.ARTICLE_ORDER_CURRENCY)
    return article.backlink_price, article.currency


def _blocked_domain(target_url: str) -> str | None:
    try:
        host = urlsplit(target_url).hostname or ""
    except ValueError:
        return None
    suffixes = host_suffixes(host)
    if not suffixes:
        return None
    found = BlockedDomain.objects.filter(domain__in=suffixes).values_list("domain", flat=True)
    # The widest blocked domain is the clearest rule to quote.
    return min(found, key=len, default=None)


def policy_decide(
    *,
    article: Article | None,
    kind: OrderKind,
    target_url: str,
    anchor_text: str = "",
    notes: str = "",
    topic: str = "",
    keywords: list[str] | tuple[str, ...] = (),
) -> PolicyDecision:
    """Apply the link policy to one link; never raises on odd input, writes nothing.

    Order of the rules: a blocked domain (``targetUrl``); then the active niches whose keywords
    match (README "Link policy" for the matching rule), by name: a ``blocked`` niche refuses, a
    niche the article refuses refuses; otherwise the largest surcharge of the matching
    ``surcharge`` niches applies (surcharges never add up), else the first ``allowed`` niche is
    recorded at the base price. A percentage is of the base price, rounded half up to the cent;
    a fixed amount is in the article's currency.
    """
    base, currency = _base_price(article=article, kind=kind)
    decide = partial(PolicyDecision, base=base, currency=currency)
    domain = _blocked_domain(target_url)
    if domain is not None:
        reason = f"Links to {domain} and its subdomains are not accepted."
        return decide(
            allowed=False,
            surcharge=Decimal(0),
            rule="blocked_domain",
            field="targetUrl",
            reason=reason,
        )
    texts = {
        "targetUrl": url_text(target_url),
        "anchorText": anchor_text,
        "customerNotes": notes,
        "topic": topic if kind == "article" else "",
    }
    text_phrases = {name: phrases(text) for name, text in texts.items() if text}
    if kind == "article" and keywords:
        # Each keyword on its own: a niche keyword never matches across two of the customer's.
        text_phrases["keywords"] = frozenset().union(
            *(phrases(k) for k in list(keywords)[:MAX_CUSTOMER_KEYWORDS])
        )
    matched: list[tuple[Niche, str, str]] = []
    for niche in Niche.objects.filter(active=True).order_by("name"):
        keyword_list = niche.keyword_list
        for name, found in text_phrases.items():
            keyword = first_match(keyword_list, found)
            if keyword is not None:
                matched.append((niche, name, keyword))
                break
    if not matched:
        return decide(allowed=True, surcharge=Decimal(0))
    needs_approval = any(niche.needs_approval for niche, _, _ in matched)
    refused_ids: set[int] = set()
    if article is not None and kind == "backlink":
        refused_ids = set(
            ArticleNicheRefusal.objects.filter(
                article=article, niche_id__in=[n.pk for n, _, _ in matched]
            ).values_list("niche_id", flat=True)
        )
    for niche, name, keyword in matched:
        mention = f"({FIELD_WORDS[name]} mentions “{keyword}”)"
        if niche.rule == NicheRule.BLOCKED:
            reason = f"Links about {niche.name} are not accepted {mention}."
            rule = "blocked"
        elif niche.pk in refused_ids:
            reason = f"This article does not accept links about {niche.name} {mention}."
            rule = "refused_by_article"
        else:
            continue
        return decide(
            allowed=False,
            surcharge=Decimal(0),
            niche=niche,
            rule=rule,
            field=name,
            reason=reason,
            needs_approval=needs_approval,
        )
    surcharged = [niche for niche, _, _ in matched if niche.rule == NicheRule.SURCHARGE]
    if surcharged:
        niche = max(surcharged, key=lambda n: _surcharge(n, base))
        return decide(
            allowed=True,
            surcharge=_surcharge(niche, base),
            niche=niche,
            rule=NicheRule.SURCHARGE,
            needs_approval=needs_approval,
        )
    return decide(
        allowed=True,
        surcharge=Decimal(0),
        niche=matched[0][0],
        rule=NicheRule.ALLOWED,
        needs_approval=needs_approval,
    )
