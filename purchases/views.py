"""HTML pages: ordering from the site, the customer's order page, and the LOCAL TEST MODE payment page.

Thin like the API: forms go through ``purchases.intake`` and the review services.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError

from blogorder.throttling import client_ip, throttle_wait
from purchases import test_mode
from purchases.actions import CUSTOMER_ACTIONS, PAY, SUBMIT_FOR_REVIEW, OrderAction
from purchases.catalog.selectors import article_get_published
from purchases.errors import ApplicationError, OrderNotFound
from purchases.gateways import payment_gateway
from purchases.intake import checkout_submit
from purchases.models import Order
from purchases.selectors import (
    order_customer_actions,
    order_get_for_customer,
    order_queue_state,
    order_receipt,
    order_versions,
    version_html_marked,
)
from purchases.services.payments import order_payment_confirm_from_session
from purchases.status_messages import order_status_view
from purchases.throttles import ACTION_THROTTLES, CHECKOUT_THROTTLES
from purchases.tokens import make_order_token

# The customer actions the page posts (the others are links), by name. Pages rendered before the
# buttons took their actions' names post "submit".
PAGE_ACTIONS: dict[str, OrderAction] = {
    **{action.name: action for action in CUSTOMER_ACTIONS if not action.link},
    "submit": SUBMIT_FOR_REVIEW,
}
ACTION_DONE = {
    (
        "regenerate",
        Order.Kind.BACKLINK,
    ): "A new placement is being written. We will email you when it is ready.",
    ("regenerate", Order.Kind.ARTICLE): "A fresh draft is being written. We will email you when it is ready.",
    (
        "submit_for_review",
        Order.Kind.BACKLINK,
    ): "Sent to our editors. We will email you when your link is live.",
    (
        "submit_for_review",
        Order.Kind.ARTICLE,
    ): "Sent to our editors. We will email you when your article is live.",
}
ACTION_REFUSED = "That is not possible right now: the page below shows where your order stands."


def rate_limited_message(wait: int) -> str:
    """What a page says instead of the API's 429 (the same limits, README "Limits")."""
    minutes = -(-wait // 60)
    when = f"{minutes} minute{'s' if minutes != 1 else ''}" if wait >= 60 else f"{wait} seconds"
    return f"You have done that many times in a short while. Please try again in {when}."


def _token_cookie_name(order_id: str) -> str:
    """One cookie per order (``order_token_<id hex>``), so a customer's orders never share one."""
    try:
        return f"order_token_{uuid.UUID(order_id).hex}"
    except ValueError:
        return "order_token_"


def _without_token(request: HttpRequest) -> str:
    """The page's address without ``token``; other parameters (``paid``, ``cancelled``) stay."""
    params = request.GET.copy()
    params.pop("token", None)
    return f"{request.path}?{params.urlencode()}" if params else request.path


@require_http_methods(["GET", "POST"])
def order_page(request: HttpRequest, order_id: str) -> HttpResponse:
    """The link in every email. The token comes in the query (``?token=``, as emails and Stripe's
    return links carry it) or in the order's HttpOnly cookie.

    A request with ``?token=`` is answered with the cookie and a redirect to the clean address,
    so the token is not in the address bar, in bookmarks, in later access-log lines or in
    referrers; old links keep working. POST ``action=<name>`` runs a customer action the page
    offers (``regenerate``, ``submit_for_review``) through the same service as the API, then
    redirects back (so reloading the page never repeats the action). The buttons shown are the
    order's customer actions.
    """
    query_token = request.GET.get("token")
    cookie_name = _token_cookie_name(order_id)
    token = query_token if query_token is not None else request.COOKIES.get(cookie_name)
    try:
        order = order_get_for_customer(order_id=order_id, token=token)
    except OrderNotFound as exc:
        raise Http404("Order not found") from exc
    response: HttpResponse
    if request.method == "POST":
        action = PAGE_ACTIONS.get(request.POST.get("action", ""))
        if action is None:
            raise Http404("Unknown action")
        wait = throttle_wait(request, ACTION_THROTTLES.get(action.name, []))
        if wait is not None:
            messages.error(request, rate_limited_message(wait))
        else:
            try:
                action.execute(order_id=order.id)
                messages.success(request, ACTION_DONE[(action.name, Order.Kind(order.kind))])
            except ApplicationError:
                messages.error(request, ACTION_REFUSED)
        response = HttpResponseRedirect(_without_token(request))
    elif query_token is not None:
        response = HttpResponseRedirect(_without_token(request))
    else:
        if request.GET.get("paid") == "1" and PAY.is_offered(order):
            # Back from Stripe's checkout: fulfil now if the session is paid (the webhook may lag).
            order_payment_confirm_from_session(order_id=order.id)
            order.refresh_from_db()
        response = _order_page_render(request, order)
    if query_token is not None:
        response.set_cookie(
            cookie_name,
            query_token,
            max_age=settings.ORDER_TOKEN_TTL_DAYS * 24 * 3600,
            path=request.path,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    return response


def _order_page_render(request: HttpRequest, order: Order) -> HttpResponse:
    version = order.current_version
    drafts = list(order_versions(order))
    queue = order_queue_state(order) if order.in_progress else None
    paid_flag, cancelled_flag = request.GET.get("paid") == "1", request.GET.get("cancelled") == "1"
    status = order_status_view(
        order, queue=queue, returned_from_checkout=paid_flag, checkout_cancelled=cancelled_flag
    )
    context = {
        "order": order,
        "is_article": order.kind == Order.Kind.ARTICLE,
        "body_html": version_html_marked(version, target_url=order.target_url) if version else "",
        "version": version,
        "draft_number": next(
            (len(drafts) - i for i, v in enumerate(drafts) if v.pk == order.current_version_id), 0
        ),
        "drafts": [(len(drafts) - i, v) for i, v in enumerate(drafts)],
        "actions": order_customer_actions(order),
        "queue": queue,
        "polling": order.awaits_payment or order.in_progress,
        "paid_flag": paid_flag,
        "cancelled_flag": cancelled_flag,
        # The state for the customer (purchases.status_messages): badge, banner text and class, live link.
        "status_label": status.label,
        "status_message": status.page_message,
        "status_tone": status.tone,
        "status_link": status.link,
        "receipt": order_receipt(order),
    }
    return render(request, "purchases/order_page.html", context)


def _order_form(
    request: HttpRequest, *, initial: dict[str, Any], template: str, extra: dict[str, Any]
) -> HttpResponse:
    """Show an order form; on POST open the checkout and send the customer to pay.

    A POST goes through the API's checkout limits; past one the form comes back with a message
    (status 429, ``Retry-After``) and nothing is written.
    """
    errors: dict[str, list[str]] = {}
    error = ""
    values = dict(initial)
    wait = throttle_wait(request, CHECKOUT_THROTTLES) if request.method == "POST" else None
    if wait is not None:
        values.update({key: value for key, value in request.POST.items() if key != "csrfmiddlewaretoken"})
        context = {**extra, "values": values, "errors": errors, "error": rate_limited_message(wait)}
        response = render(request, template, context, status=429)
        response["Retry-After"] = str(wait)
        return response
    if request.method == "POST":
        values.update({key: value for key, value in request.POST.items() if key != "csrfmiddlewaretoken"})
        data: dict[str, Any] = {**values}
        if "keywords" in data:
            data["keywords"] = [k.strip() for k in str(data["keywords"]).split(",") if k.strip()]
        if data.get("wordCount") in ("", None):
            data.pop("wordCount", None)
        try:
            order, _ = checkout_submit(data, client_ip=client_ip(request))
            return HttpResponseRedirect(order.checkout_url)
        except ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"": exc.detail}
            errors = {
                str(key): [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])]
                for key, msgs in detail.items()
            }
        except ApplicationError as exc:
            errors, error = exc.fields, exc.message
    return render(request, template, {**extra, "values": values, "errors": errors, "error": error})


@require_http_methods(["GET", "POST"])
def buy_backlink(request: HttpRequest, slug: str) -> HttpResponse:
    article = article_get_published(slug=slug)
    if article is None:
        raise Http404("No such article")
    initial = {"orderType": Order.Kind.BACKLINK, "articleId": str(article.pk)}
    return _order_form(
        request, initial=initial, template="purchases/buy_backlink.html", extra={"article": article}
    )


@require_http_methods(["GET", "POST"])
def buy_article(request: HttpRequest) -> HttpResponse:
    initial = {"orderType": Order.Kind.ARTICLE, "wordCount": "800"}
    extra = {"price": settings.ARTICLE_ORDER_PRICE, "currency": settings.ARTICLE_ORDER_CURRENCY}
    return _order_form(request, initial=initial, template="purchases/buy_article.html", extra=extra)


@require_http_methods(["GET", "POST"])
def test_checkout(request: HttpRequest, session_id: str) -> HttpResponse:
    """Simulated Stripe Checkout. Exists only while the payment gateway is the local TEST MODE."""
    if not payment_gateway().is_local_test_mode or not session_id.startswith(test_mode.TEST_SESSION_PREFIX):
        raise Http404("Test mode is off")
    order = Order.objects.select_related("article").filter(stripe_checkout_session_id=session_id).first()
    if order is None:
        raise Http404("Unknown test session")
    delivered: int | None = None
    error = ""
    if request.method == "POST" and PAY.is_available(order):
        try:
            delivered = test_mode.deliver_event(test_mode.checkout_completed_event(order=order))
        except OSError as exc:
            error = f"Could not reach the webhook at {settings.SITE_URL}: {exc}"
        order.refresh_from_db()
    token = make_order_token(order_id=order.id, token_salt=order.token_salt)
    order_url = reverse("purchases:order-page", kwargs={"order_id": order.id}) + f"?token={token}"
    return render(
        request,
        "purchases/test_checkout.html",
        {
            "order": order,
            "can_pay": PAY.is_available(order),
            "delivered": delivered,
            "error": error,
            "order_url": order_url,
        },
    )
