"""Daily Stripe reconciliation: every paid Checkout Session has an order that knows it was paid.

A webhook Stripe gave up on (our endpoint down for days, a wrong secret after a rotation) would
otherwise leave a paid order waiting forever. Idempotent by construction: it only calls
``order_mark_paid``, which moves an order once, and only for a session that paid the order's
amount in its currency (else staff are told, as by the webhook, and the order stays unpaid).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from purchases.actions import PAY
from purchases.errors import PaymentProviderError
from purchases.gateways import PaymentGatewayUnavailable, payment_gateway
from purchases.selectors import order_for_checkout_session
from purchases.services.emails import staff_notify
from purchases.services.payments import PaymentMismatch, order_mark_paid, order_payment_mismatch_report

logger = logging.getLogger(__name__)


@dataclass
class StripeReconcileReport:
    """``repaired``: paid sessions whose order had missed it and now moved on; ``ok``: already
    known; ``missing``: session ids with no order at all (staff told); ``mismatched``: session ids
    that paid another amount or currency than their order's (not applied, staff told);
    ``test_mode``: the gateway is the local TEST MODE, which has no sessions to list."""

    listed: int = 0
    repaired: int = 0
    ok: int = 0
    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    test_mode: bool = False


def _whole_number(value: object) -> int:
    """An amount as Stripe lists it; anything else (absent, text) is -1, which matches no order."""
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def stripe_sessions_reconcile(*, since: datetime) -> StripeReconcileReport:
    """Check every paid Checkout Session created since ``since`` against its order.

    An order still PENDING_PAYMENT (or FAILED before any payment, e.g. expired) is marked paid
    with source "reconciler" and its job enqueued. A session with no order cannot be turned into
    one (the order holds the target URL and anchor, which Stripe never saw), so staff are told
    with the session id and the customer's email. In local TEST MODE there is nothing to list.
    Raises PaymentProviderError when Stripe cannot be reached.
    """
    gateway = payment_gateway()
    report = StripeReconcileReport(test_mode=gateway.is_local_test_mode)
    try:
        sessions = gateway.checkout_sessions_list_paid(created_gte=int(since.timestamp()))
    except PaymentGatewayUnavailable as exc:
        raise PaymentProviderError(f"Stripe could not list Checkout Sessions: {exc}") from exc
    missing_lines: list[str] = []
    for session in sessions:
        report.listed += 1
        order = order_for_checkout_session(session=session)
        if order is None:
            report.missing.append(str(session.get("id")))
            missing_lines.append(
                f"- {session.get('id')}: customer {session.get('customer_email') or '?'}, "
                f"reference {session.get('client_reference_id') or '-'}, "
                f"{session.get('amount_total')} {str(session.get('currency') or '').upper()} (minor units)"
            )
            continue
        if not PAY.allows(order):
            report.ok += 1
            continue
        try:
            repaired = order_mark_paid(
                order_id=order.id,
                payment_intent_id=str(session.get("payment_intent") or ""),
                amount_minor=_whole_number(session.get("amount_total")),
                currency=str(session.get("currency") or ""),
                source="reconciler",
            )
        except PaymentMismatch as exc:
            report.mismatched.append(str(session.get("id")))
            order_payment_mismatch_report(
                order_id=order.id, reference=f"Stripe session {session.get('id')}", problem=str(exc)
            )
            continue
        if repaired:
            report.repaired += 1
            logger.warning(
                "paid order repaired by reconciliation",
                extra={"order_id": str(order.id), "session_id": session.get("id")},
            )
        else:
            report.ok += 1
    if missing_lines:
        staff_notify(
            subject=f"{len(missing_lines)} paid Stripe session(s) without an order",
            message=(
                "These Checkout Sessions were paid but no order matches them. Find the customer's "
                "order details or refund them in the Stripe dashboard:\n\n" + "\n".join(missing_lines)
            ),
        )
    logger.info(
        "stripe reconciliation done",
        extra={
            "listed": report.listed,
            "repaired": report.repaired,
            "ok": report.ok,
            "missing": len(report.missing),
            "mismatched": len(report.mismatched),
        },
    )
    return report
