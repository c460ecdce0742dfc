"""HTML pages: the customer's order page and the LOCAL TEST MODE payment page."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from articles.content import render_html
from purchases import test_mode
from purchases.errors import ApplicationError, OrderNotFound
from purchases.models import Order, OrderStatus
from purchases.selectors import order_customer_actions, order_get_for_customer
from purchases.services.review import order_regenerate, order_submit_for_review


@require_http_methods(["GET", "POST"])
def order_page(request: HttpRequest, order_id: str) -> HttpResponse:
    """The link in every email. The token travels in the query string, as in the original system.

    POST ``action=regenerate|submit`` runs the same services as the API.
    """
    token = request.GET.get("token")
    try:
        order = order_get_for_customer(order_id=order_id, token=token)
    except OrderNotFound as exc:
        raise Http404("Order not found") from exc
    notice = ""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "regenerate":
                order_regenerate(order_id=order.id)
                notice = "A new placement is being written. We will email you when it is ready."
            elif action == "submit":
                order_submit_for_review(order_id=order.id)
                notice = "Sent to our editors. We will email you when it is live."
        except ApplicationError as exc:
            notice = exc.message
        order.refresh_from_db()
    version = order.current_version
    context = {
        "order": order,
        "token": token,
        "body_html": render_html(version.body_markdown) if version else "",
        "version": version,
        "actions": order_customer_actions(order),
        "polling": order.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.PROCESSING),
        "paid_flag": request.GET.get("paid") == "1",
        "notice": notice,
    }
    return render(request, "purchases/order_page.html", context)


@require_http_methods(["GET", "POST"])
def test_checkout(request: HttpRequest, session_id: str) -> HttpResponse:
    """Simulated Stripe Checkout. Exists only while STRIPE_SECRET_KEY is unset."""
    if not settings.STRIPE_LOCAL_TEST_MODE or not session_id.startswith(test_mode.TEST_SESSION_PREFIX):
        raise Http404("Test mode is off")
    order = Order.objects.select_related("article").filter(stripe_checkout_session_id=session_id).first()
    if order is None:
        raise Http404("Unknown test session")
    delivered: int | None = None
    error = ""
    if request.method == "POST" and order.status == OrderStatus.PENDING_PAYMENT:
        try:
            delivered = test_mode.deliver_event(test_mode.checkout_completed_event(order=order))
        except OSError as exc:
            error = f"Could not reach the webhook at {settings.SITE_URL}: {exc}"
        order.refresh_from_db()
    return render(
        request,
        "purchases/test_checkout.html",
        {"order": order, "delivered": delivered, "error": error, "site_url": settings.SITE_URL},
    )
