"""Daily Stripe reconciliation: every paid Checkout Session has an order that knows it was paid,
and every refund and dispute Stripe holds is on its order.

A webhook Stripe gave up on (our endpoint down for days, a wrong secret after a rotation) would
otherwise leave a paid order waiting forever. Idempotent by construction: it only calls
``order_mark_paid``, which moves an order once, and only for a session that paid the order's
amount in its currency (else staff are told, as by the webhook, and the order stays unpaid).
Refunds and disputes go through the services their webhooks call (amounts only grow, statuses
only move forward, each change told once), so a lost ``charge.refunded``, ``refund.failed``,
``charge.refund.updated`` or ``charge.dispute.*`` is applied here as it would have been then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from purchases.actions import PAY
from purchases.errors import PaymentProviderError
from purchases.gateways import PaymentGatewayUnavailable, payment_gateway
from purchases.models import Order
from purchases.selectors import order_for_charge, order_for_checkout_session
from purchases.services.disputes import order_dispute_record
from purchases.services.emails import staff_notify
from purchases.services.payments import PaymentMismatch, order_mark_paid, order_payment_mismatch_report
from purchases.services.refunds import order_mark_refunded_from_stripe, order_refund_status_record

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
    # Refunds and disputes whose webhook had been lost and that changed their order now.
    refunds_repaired: int = 0
    disputes_repaired: int = 0


def _whole_number(value: object) -> int:
    """An amount as Stripe lists it; anything else (absent, text) is -1, which matches no order."""
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


# Refund statuses whose money is on its way back, or back: they count towards the refunded amount.
REFUND_STATUSES_COUNTED = frozenset({"pending", "succeeded"})


def stripe_refunds_reconcile(*, since: datetime, report: StripeReconcileReport) -> None:
    """Apply the refunds created since ``since`` that their orders do not know of.

    Amounts: per order, the refunds listed that are pending or succeeded, summed, applied as
    ``charge.refunded`` would (the larger figure wins, so a window that misses older refunds never
    lowers one). Status: the order's latest refund (``stripe_refund_id``), or the latest listed for
    an order that has none, recorded as ``charge.refund.updated`` would. Raises PaymentProviderError.
    """
    try:
        refunds = payment_gateway().refunds_list(created_gte=int(since.timestamp()))
    except PaymentGatewayUnavailable as exc:
        raise PaymentProviderError(f"Stripe could not list refunds: {exc}") from exc
    orders: dict[str, tuple[Order, list[dict]]] = {}
    # Stripe lists newest first: oldest first here, ties kept in the order they were made.
    for refund in sorted(reversed(refunds), key=lambda r: _whole_number(r.get("created"))):
        order = order_for_charge(charge=refund)
        if order is None or not order.is_paid:
            continue
        orders.setdefault(str(order.id), (order, []))[1].append(refund)
    for order, listed in orders.values():
        counted = sum(
            _whole_number(r.get("amount")) for r in listed if r.get("status") in REFUND_STATUSES_COUNTED
        )
        changed = False
        if counted > order.amount_minor - order.refundable_minor:
            outcome = order_mark_refunded_from_stripe(
                order_id=order.id,
                amount_refunded_minor=counted,
                amount_minor_total=order.amount_minor,
                charge_id=str(listed[-1].get("charge") or ""),
            )
            changed = outcome in ("refunded", "partially_refunded")
        own = [r for r in listed if r.get("id") == order.stripe_refund_id] or (
            [] if order.stripe_refund_id else listed[-1:]
        )
        for refund in own:
            outcome = order_refund_status_record(
                order_id=order.id,
                refund_id=str(refund.get("id")),
                status=str(refund.get("status") or ""),
                amount_minor=_whole_number(refund.get("amount")),
                failure_reason=str(refund.get("failure_reason") or ""),
            )
            changed = changed or outcome == "refund_status_recorded"
        if changed:
            report.refunds_repaired += 1
            logger.warning("refund repaired by reconciliation", extra={"order_id": str(order.id)})


def stripe_disputes_reconcile(*, since: datetime, report: StripeReconcileReport) -> None:
    """Record on their orders the disputes created since ``since``, as ``charge.dispute.*`` would.

    Raises PaymentProviderError. A dispute created before the window is not listed again.
    """
    try:
        disputes = payment_gateway().disputes_list(created_gte=int(since.timestamp()))
    except PaymentGatewayUnavailable as exc:
        raise PaymentProviderError(f"Stripe could not list disputes: {exc}") from exc
    for dispute in disputes:
        order = order_for_charge(charge=dispute)
        if order is None:
            logger.warning("dispute for no known order", extra={"dispute": dispute.get("id")})
            continue
        outcome = order_dispute_record(
            order_id=order.id,
            dispute_id=str(dispute.get("id")),
            status=str(dispute.get("status") or ""),
            reason=str(dispute.get("reason") or "")[:100],
            amount=f"{_whole_number(dispute.get('amount'))} {str(dispute.get('currency') or '').upper()} (minor units)",
        )
        if outcome != "dispute_already_recorded":
            report.disputes_repaired += 1
            logger.warning("dispute repaired by reconciliation", extra={"order_id": str(order.id)})


def stripe_sessions_reconcile(*, since: datetime) -> StripeReconcileReport:
    """Check every paid Checkout Session, refund and dispute created since ``since`` against its order.

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
            outcome = order_mark_paid(
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
        if outcome != "already_paid":
            report.repaired += 1
            logger.warning(
                "paid order repaired by reconciliation",
                extra={"order_id": str(order.id), "session_id": session.get("id")},
            )
        else:
            report.ok += 1
    stripe_refunds_reconcile(since=since, report=report)
    stripe_disputes_reconcile(since=since, report=report)
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
            "refunds_repaired": report.refunds_repaired,
            "disputes_repaired": report.disputes_repaired,
        },
    )
    return report
