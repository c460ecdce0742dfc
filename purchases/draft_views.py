"""The customer's draft pages: one draft in full with its changes marked, and the confirmation
before a draft is submitted for editorial review.

Same token rules as the order page (``customer_order_view``); submitting runs the same action,
service and rate limits as the order page and the API.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from purchases.actions import SUBMIT_FOR_REVIEW
from purchases.errors import NotFound
from purchases.models import Order
from purchases.selectors import DraftPage, order_draft_page
from purchases.views import customer_order_view, run_customer_action


def _draft_page(order: Order, number: int) -> DraftPage:
    try:
        return order_draft_page(order, number=number)
    except NotFound as exc:
        raise Http404("No such draft") from exc


@require_GET
@customer_order_view
def draft_page(request: HttpRequest, order: Order, number: int) -> HttpResponse:
    """Draft ``number`` of the order in full: for a backlink, the paragraphs that differ from the
    published version it was made on are marked (and labelled in words); an article order's
    draft is all new. Links to the previous and next drafts, and to submitting this one."""
    page = _draft_page(order, number)
    context = {"order": order, "page": page, "is_article": order.kind == Order.Kind.ARTICLE}
    return render(request, "purchases/draft_page.html", context)


@require_http_methods(["GET", "POST"])
@customer_order_view
def draft_submit(request: HttpRequest, order: Order, number: int) -> HttpResponse:
    """GET asks the customer to confirm (submitting cannot be undone); POST submits draft ``number``
    (``SUBMIT_FOR_REVIEW`` with its version) and redirects to the order page with a message."""
    page = _draft_page(order, number)
    if request.method == "POST":
        run_customer_action(request, order, SUBMIT_FOR_REVIEW, version_id=page.draft.version.pk)
        return HttpResponseRedirect(reverse("purchases:order-page", kwargs={"order_id": order.id}))
    context = {"order": order, "page": page, "is_article": order.kind == Order.Kind.ARTICLE}
    return render(request, "purchases/draft_submit.html", context)
