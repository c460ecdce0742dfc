"""HTML pages: ordering from the site, the customer's order page, and the LOCAL TEST MODE payment page.

Thin like the API: forms go through ``purchases.intake`` and the review services.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from rest_framework.exceptions import ValidationError

from blogorder.throttling import client_ip, throttle_wait
from purchases import test_mode
from purchases.actions import CUSTOMER_ACTIONS, PAY, SUBMIT_FOR_REVIEW, OrderAction
from purchases.catalog.selectors import article_get_published
from purchases.errors import ApplicationError, DraftOutdated, OrderNotFound
from purchases.gateways import payment_gateway
from purchases.intake import checkout_submit
from purchases.models import Order, OrderMessage
from purchases.selectors import (
    QUEUE_STAGE_WORDS,
    customer_order_rows,
    order_article_notices,
    order_customer_actions,
    order_draft_items,
    order_get_for_customer,
    order_message_author,
    order_message_thread,
    order_queue_state,
    order_receipt,
    queue_stage_words,
    version_html_marked,
)
from purchases.serializers import OrderLookupInSerializer
from purchases.services.lookup import lookup_answer_text, order_lookup_request
from purchases.services.messages import order_message_post
from purchases.services.payments import order_payment_confirm_from_session
from purchases.status_messages import order_status_view
from purchases.throttles import (
    ACTION_THROTTLES,
    CHECKOUT_THROTTLES,
    MESSAGE_ORDER_THROTTLES,
    MESSAGE_THROTTLES,
    ORDERS_LINK_THROTTLES,
)
from purchases.tokens import make_order_token, orders_link_email, orders_link_ttl

P = ParamSpec("P")

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


def customer_order_view(
    view: Callable[Concatenate[HttpRequest, Order, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, str, P], HttpResponse]:
    """A page of one order, opened with its token: in the query (``?token=``, as emails and Stripe's
    return links carry it) or in the order's HttpOnly cookie. Wrong, missing or expired: 404.

    A GET with ``?token=`` is answered with the cookie and a redirect to the clean address, so the
    token is not in the address bar, in bookmarks, in later access-log lines or in referrers; old
    links keep working. Other requests reach ``view(request, order, ...)``, and a token in their
    query is kept in the cookie too. The cookie's path is the order page's (``/orders/<id>/``), so
    it also opens the order's draft pages wherever the token arrived.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, order_id: str, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        query_token = request.GET.get("token")
        cookie_name = _token_cookie_name(order_id)
        token = query_token if query_token is not None else request.COOKIES.get(cookie_name)
        try:
            order = order_get_for_customer(order_id=order_id, token=token)
        except OrderNotFound as exc:
            raise Http404("Order not found") from exc
        if query_token is None:
            return view(request, order, *args, **kwargs)
        response = (
            HttpResponseRedirect(_without_token(request))
            if request.method == "GET"
            else view(request, order, *args, **kwargs)
        )
        response.set_cookie(
            cookie_name,
            query_token,
            max_age=settings.ORDER_TOKEN_TTL_DAYS * 24 * 3600,
            path=reverse("purchases:order-page", kwargs={"order_id": order_id}),
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
        return response

    return wrapper


def run_customer_action(request: HttpRequest, order: Order, action: OrderAction, **options: Any) -> None:
    """Run a customer action from a page, within its rate limits, and say how it went in a message."""
    wait = throttle_wait(request, ACTION_THROTTLES.get(action.name, []))
    if wait is not None:
        messages.error(request, rate_limited_message(wait))
        return
    try:
        action.execute(order_id=order.id, **options)
        messages.success(request, ACTION_DONE[(action.name, Order.Kind(order.kind))])
    except ApplicationError as exc:
        messages.error(request, exc.message if exc.code == DraftOutdated.code else ACTION_REFUSED)


@never_cache  # the page carries the order's token (data-token): no shared or back-button copy
@require_http_methods(["GET", "POST"])
@customer_order_view
def order_page(request: HttpRequest, order: Order) -> HttpResponse:
    """The link in every email (token rules: ``customer_order_view``).

    POST ``action=<name>`` runs a customer action the page offers (``regenerate``,
    ``submit_for_review``) through the same service as the API, then redirects back (so reloading
    the page never repeats the action). The buttons shown are the order's customer actions.
    """
    if request.method == "POST":
        action = PAGE_ACTIONS.get(request.POST.get("action", ""))
        if action is None:
            raise Http404("Unknown action")
        run_customer_action(request, order, action)
        return HttpResponseRedirect(_without_token(request))
    if request.GET.get("paid") == "1" and PAY.is_offered(order):
        # Back from Stripe's checkout: fulfil now if the session is paid (the webhook may lag).
        order_payment_confirm_from_session(order_id=order.id)
        order.refresh_from_db()
    # The script polls the status API with the same token; a GET reaching here came with the cookie.
    token = request.COOKIES.get(_token_cookie_name(str(order.id)), "")
    return _order_page_render(request, order, token=token)


MESSAGE_SENT = "Sent to our editors. They will answer here, and we will email you when they do."


@never_cache
@require_http_methods(["POST"])
@customer_order_view
def order_message_page(request: HttpRequest, order: Order) -> HttpResponse:
    """The order page's message form (works without JavaScript): POST ``body`` adds a customer message.

    The same service and limits as ``POST /api/v1/purchase/messages``. Sent: back to the order
    page's thread with a message. Refused (a bad body, past a rate limit, an unpaid order): the
    order page again with the words kept and the reason (400 / 429 with ``Retry-After`` / 409).
    """
    text = request.POST.get("body", "")
    token = request.COOKIES.get(_token_cookie_name(str(order.id)), "")
    wait = throttle_wait(request, [*MESSAGE_THROTTLES, *MESSAGE_ORDER_THROTTLES])
    if wait is not None:
        response = _order_page_render(
            request, order, token=token, message_text=text, message_error=rate_limited_message(wait)
        )
        response.status_code = 429
        response["Retry-After"] = str(wait)
        return response
    try:
        order_message_post(order_id=order.id, side=OrderMessage.Side.CUSTOMER, body=text)
    except ApplicationError as exc:
        response = _order_page_render(
            request, order, token=token, message_text=text, message_error=exc.message
        )
        response.status_code = exc.status_code
        return response
    messages.success(request, MESSAGE_SENT)
    return HttpResponseRedirect(reverse("purchases:order-page", kwargs={"order_id": order.id}) + "#messages")


def live_mode(order: Order, *, paid_flag: bool) -> str:
    """How the page's script (``order_live.js``) follows the order, README "The live order page".

    ``live``: a payment or a draft is awaited, so poll the status API, fast after a change and
    slower while nothing moves. ``confirming``: back from paying, the payment not yet confirmed,
    so poll the page itself, which asks Stripe for the session (``paid=1``). ``slow``: waiting on
    people (the customer's choice, an editor), so look now and then. ``off``: nothing more comes.
    """
    if order.awaits_payment:
        return "confirming" if paid_flag else "live"
    if order.in_progress:
        return "live"
    if order.has_failed or order.is_published or order.is_refunded:
        return "off"
    return "slow"


def wait_words(seconds: int) -> str:
    """An estimate as the page says it (``order_live.js`` says it the same way)."""
    if seconds < 60:
        return f"About {seconds} second{'s' if seconds != 1 else ''} left"
    minutes = round(seconds / 60)
    return f"About {minutes} minute{'s' if minutes != 1 else ''} left"


def _order_page_render(
    request: HttpRequest, order: Order, *, token: str, message_text: str = "", message_error: str = ""
) -> HttpResponse:
    version = order.current_version
    drafts = order_draft_items(order)
    queue = order_queue_state(order) if order.in_progress else None
    # The status API's figure (``order_queue_state`` gives it while a draft is being written).
    estimate = queue["estimatedSeconds"] if queue else None
    paid_flag, cancelled_flag = request.GET.get("paid") == "1", request.GET.get("cancelled") == "1"
    status = order_status_view(
        order, queue=queue, returned_from_checkout=paid_flag, checkout_cancelled=cancelled_flag
    )
    context = {
        "order": order,
        "is_article": order.kind == Order.Kind.ARTICLE,
        "body_html": version_html_marked(version, target_url=order.target_url) if version else "",
        "version": version,
        "draft_number": next((d.number for d in drafts if d.current), 0),
        "drafts": drafts,
        "actions": order_customer_actions(order),
        "queue": queue,
        "stage_words": queue_stage_words(queue) if queue else "",
        "estimate_words": wait_words(estimate) if estimate is not None else "",
        "polling": order.awaits_payment or order.in_progress,
        "paid_flag": paid_flag,
        "cancelled_flag": cancelled_flag,
        # The state for the customer (purchases.status_messages): badge, banner text and class, live link.
        "status_label": status.label,
        "status_message": status.page_message,
        "status_tone": status.tone,
        "status_link": status.link,
        "receipt": order_receipt(order),
        # Its article taken off the site or published back: who said why (the timeline's entries).
        "article_notices": order_article_notices(order),
        # For order_live.js (the root element's data- attributes); the page is served only to the
        # token's holder, with no-store.
        "live_mode": live_mode(order, paid_flag=paid_flag),
        "slow_poll_ms": settings.ORDER_PAGE_SLOW_POLL_SECONDS * 1000,
        "order_token": token,
        "status_url": reverse("purchase-api:order-status", kwargs={"order_id": order.id}),
        "stage_words_table": json.dumps(QUEUE_STAGE_WORDS),
        # The conversation with the editors (plain text, escaped) and its form.
        "thread": [(order_message_author(m, for_staff=False), m) for m in order_message_thread(order)],
        "can_message": order.is_paid,
        "message_max": settings.ORDER_MESSAGE_MAX_CHARS,
        "message_text": message_text,
        "message_error": message_error,
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
    """Simulated Stripe Checkout. Exists only while the payment gateway is the local TEST MODE.

    Once "Pay" has delivered its event, the customer goes straight to the order page, by the same
    address Stripe's success URL has (``?token=…&paid=1``). If the webhook could not be reached
    the page stays, saying why; opened again after paying, it links to the order page.
    """
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
    if delivered is not None:
        return HttpResponseRedirect(f"{order_url}&paid=1")
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


# The HttpOnly cookie that holds the key of an "all my orders" link once it left the address bar.
ORDERS_KEY_COOKIE = "orders_key"


@require_http_methods(["GET", "POST"])
def orders_lookup_page(request: HttpRequest) -> HttpResponse:
    """``/orders/``: ask for the link to all of an address's orders.

    A valid POST is answered the same way for any address (a redirect to ``?sent=1``, which shows
    ``lookup_answer_text``): the lookup runs in a worker (``order_lookup_request``). Past a rate
    limit the form comes back with a message (429, ``Retry-After``) and nothing is sent.
    """
    email = request.POST.get("customerEmail", "") if request.method == "POST" else ""
    context: dict[str, Any] = {"email": email, "errors": [], "error": "", "sent": False}
    if request.method == "GET":
        context["sent"] = request.GET.get("sent") == "1"
        if context["sent"]:
            context["answer"] = lookup_answer_text()
        return render(request, "purchases/orders_lookup.html", context)
    wait = throttle_wait(request, ORDERS_LINK_THROTTLES)
    if wait is not None:
        context["error"] = rate_limited_message(wait)
        response = render(request, "purchases/orders_lookup.html", context, status=429)
        response["Retry-After"] = str(wait)
        return response
    serializer = OrderLookupInSerializer(data={"customerEmail": email})
    if not serializer.is_valid():
        context["errors"] = [str(m) for m in serializer.errors.get("customerEmail", [])]
        return render(request, "purchases/orders_lookup.html", context, status=400)
    order_lookup_request(email=serializer.validated_data["customerEmail"], client_ip=client_ip(request))
    return HttpResponseRedirect(f"{reverse('purchases:orders-lookup')}?sent=1")


def _orders_link_refused(request: HttpRequest, exc: signing.BadSignature) -> HttpResponse:
    expired = isinstance(exc, signing.SignatureExpired)
    context = {
        "email": "",
        "errors": [],
        "error": "",
        "sent": False,
        "link_problem": "expired" if expired else "invalid",
        "ttl_hours": settings.ORDER_LOOKUP_LINK_TTL_HOURS,
    }
    response = render(request, "purchases/orders_lookup.html", context, status=410 if expired else 400)
    response.delete_cookie(ORDERS_KEY_COOKIE, path=reverse("purchases:my-orders"))
    return response


@never_cache
@require_GET
def my_orders_page(request: HttpRequest) -> HttpResponse:
    """``/orders/mine/``: every order of the address an emailed link was made for, newest first.

    The link's ``?key=`` is checked, then swapped for an HttpOnly cookie and a redirect to the
    clean address (as the order page does with its token). An expired or altered key gets the
    lookup form again, saying so (410 / 400); no key and no cookie goes to the form.
    """
    query_key = request.GET.get("key")
    key = query_key if query_key is not None else request.COOKIES.get(ORDERS_KEY_COOKIE)
    if not key:
        return HttpResponseRedirect(reverse("purchases:orders-lookup"))
    try:
        email = orders_link_email(key)
    except signing.BadSignature as exc:
        return _orders_link_refused(request, exc)
    if query_key is None:
        context = {"email": email, "rows": customer_order_rows(email=email)}
        return render(request, "purchases/my_orders.html", context)
    response = HttpResponseRedirect(request.path)
    response.set_cookie(
        ORDERS_KEY_COOKIE,
        key,
        max_age=int(orders_link_ttl().total_seconds()),
        path=request.path,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response
