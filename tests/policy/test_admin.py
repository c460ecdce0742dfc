"""Staff run the link policy from admin: blocked domains, niches with their rule, and the articles
refusing a niche (on the niche's page and on the article's)."""

from __future__ import annotations

from typing import Any

import pytest

from policy.models import ArticleNicheRefusal, BlockedDomain, Niche
from tests.factories import make_niche

pytestmark = pytest.mark.django_db


def inline_management(prefix: str, total: int = 1, initial: int = 0) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def test_staff_block_a_domain_typed_any_way(admin_client: Any) -> None:
    response = admin_client.post(
        "/admin/policy/blockeddomain/add/", {"domain": "https://Shop.Bücher.DE/path", "note": "spam"}
    )
    assert response.status_code == 302, response.content
    assert BlockedDomain.objects.get().domain == "shop.xn--bcher-kva.de"


def test_a_domain_that_is_not_one_is_a_form_error(admin_client: Any) -> None:
    response = admin_client.post("/admin/policy/blockeddomain/add/", {"domain": "not a domain"})
    assert response.status_code == 200
    assert "Enter a domain name" in response.content.decode()
    assert not BlockedDomain.objects.exists()


def niche_form(**fields: str) -> dict[str, str]:
    data = {
        "name": "Crypto",
        "keywords": "bitcoin\ncrypto",
        "rule": "surcharge",
        "surcharge_percent": "15",
        "surcharge_amount": "",
        "active": "on",
        **inline_management("refusals"),
        "refusals-TOTAL_FORMS": "0",
    }
    data.update(fields)
    return data


def test_staff_add_a_surcharge_niche(admin_client: Any) -> None:
    response = admin_client.post("/admin/policy/niche/add/", niche_form())
    assert response.status_code == 302, response.content.decode()[:3000]
    niche = Niche.objects.get()
    assert (niche.rule_words(), niche.keyword_list) == ("surcharge 15%", ["bitcoin", "crypto"])
    listing = admin_client.get("/admin/policy/niche/").content.decode()
    assert "surcharge 15%" in listing


def test_a_surcharge_with_both_a_percentage_and_an_amount_is_a_form_error(admin_client: Any) -> None:
    response = admin_client.post("/admin/policy/niche/add/", niche_form(surcharge_amount="5"))
    assert response.status_code == 200
    assert "either a percentage or a fixed amount" in response.content.decode()
    assert not Niche.objects.exists()


def test_a_niche_lists_the_articles_refusing_it_and_staff_add_one_there(
    admin_client: Any, article: Any
) -> None:
    niche = make_niche("Crypto", "bitcoin", "allowed")
    data = niche_form(rule="allowed", surcharge_percent="")
    data.update(
        {
            "refusals-TOTAL_FORMS": "1",
            "refusals-0-article": str(article.pk),
            "refusals-0-niche": str(niche.pk),
        }
    )
    response = admin_client.post(f"/admin/policy/niche/{niche.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert ArticleNicheRefusal.objects.filter(article=article, niche=niche).exists()
    page = admin_client.get(f"/admin/policy/niche/{niche.pk}/change/").content.decode()
    assert "Articles refusing this niche" in page


def test_the_article_page_in_admin_lists_the_niches_it_refuses(admin_client: Any, article: Any) -> None:
    niche = make_niche("Crypto", "bitcoin", "allowed")
    ArticleNicheRefusal.objects.create(article=article, niche=niche)
    page = admin_client.get(f"/admin/articles/article/{article.pk}/change/").content.decode()
    assert "Niches this article refuses" in page
    assert f'<option value="{niche.pk}" selected>Crypto</option>' in page


def article_form(article: Any, **fields: str) -> dict[str, Any]:
    return {
        "title": article.title,
        "slug": article.slug,
        "backlink_price": "59.00",
        "currency": "usd",
        "max_backlinks": 3,
        "language": article.language,
        "categories": [c.pk for c in article.categories.all()],
        "body_markdown": article.published_version.body_markdown,
        "versions-TOTAL_FORMS": 0,
        "versions-INITIAL_FORMS": 0,
        **fields,
    }


def test_staff_refuse_a_niche_from_the_article_page(admin_client: Any, article: Any) -> None:
    niche = make_niche("Crypto", "bitcoin", "allowed")
    form = article_form(
        article,
        **{
            **inline_management("niche_refusals"),
            "niche_refusals-0-niche": str(niche.pk),
            "niche_refusals-0-article": str(article.pk),
        },
    )
    response = admin_client.post(f"/admin/articles/article/{article.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ArticleNicheRefusal.objects.filter(article=article, niche=niche).exists()


def test_an_article_form_posted_without_the_refusals_keeps_them(admin_client: Any, article: Any) -> None:
    niche = make_niche("Crypto", "bitcoin", "allowed")
    ArticleNicheRefusal.objects.create(article=article, niche=niche)
    response = admin_client.post(f"/admin/articles/article/{article.pk}/change/", article_form(article))
    assert response.status_code == 302
    article.refresh_from_db()
    assert str(article.backlink_price) == "59.00"
    assert ArticleNicheRefusal.objects.filter(article=article, niche=niche).exists()
