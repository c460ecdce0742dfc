"""A local fake of the Stripe v1 API, for running the real ``stripe`` library in tests.

Emulated (form-encoded v1 API, Stripe error shape ``{"error": {"type", "message", ...}}``):

* ``POST /v1/checkout/sessions``, ``GET /v1/checkout/sessions/<id>``,
  ``GET /v1/checkout/sessions`` (``limit``, ``starting_after``, ``created[gt|gte|lt|lte]``; newest first);
* ``GET /v1/refunds`` and ``GET /v1/disputes`` (``created[...]``, ``limit``, ``starting_after``; newest
  first); disputes exist only through ``add_dispute``, and a test may edit ``refunds``/``disputes``;
* ``GET /v1/payment_intents/<id>`` (``expand[]=latest_charge`` inlines the charge) and
  ``GET /v1/charges/<id>``, for every payment intent of a session passed to ``mark_paid``: a
  succeeded PaymentIntent whose ``latest_charge`` is a paid Charge with a ``receipt_url`` on
  ``pay.stripe.com``, as Stripe has them (a test may edit ``charges``);
* ``POST /v1/refunds`` (``payment_intent`` must belong to a session passed to ``mark_paid``;
  ``amount`` defaults to what is left to refund; over-refunding is a 400);
* ``Authorization: Bearer sk_...`` (or ``rk_...``), otherwise 401;
* ``Idempotency-Key`` on POSTs: a replay returns the stored response (header
  ``Idempotent-Replayed: true``); the same key with different parameters is a 400
  ``idempotency_error``, as in Stripe. Only 2xx responses are stored. Note that stripe-python
  sends an auto-generated key on every POST and reuses it on its own retries.

Not emulated: every other endpoint (404), ``expand`` (but for ``latest_charge``), prices by id (only ``price_data`` line items
count toward ``amount_total``), parameter validation beyond the above, livemode, Connect,
v2 (JSON) endpoints, webhook delivery (use ``checkout_session_event`` + ``sign_stripe_payload``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from ._base import FakeHTTPServer, FakeRequest, FakeResponse

API_VERSION = "2026-10-28.endive"  # the default pinned by stripe-python 16.1.0
_ALNUM = string.ascii_letters + string.digits
_SESSION_PATH = re.compile(r"^/v1/checkout/sessions/([^/]+)$")
_INTENT_PATH = re.compile(r"^/v1/payment_intents/([^/]+)$")
_CHARGE_PATH = re.compile(r"^/v1/charges/([^/]+)$")


class RecordedRequest(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: dict[str, Any]  # parsed form body (POST) or parsed query string (GET)
    connection: str = ""  # the client's address and port: one per TCP connection


def parse_stripe_form(data: str) -> dict[str, Any]:
    """Parse Stripe's bracket syntax (``a[0][b]=1&m[k]=v``) into nested dicts/lists of strings.

    Dicts whose keys are all digits become lists (except under ``metadata``); ``a[]`` appends.
    """
    root: dict[str, Any] = {}
    for key, value in parse_qsl(data, keep_blank_values=True):
        head, _, rest = key.partition("[")
        parts = [head, *re.findall(r"\[([^\]]*)\]", "[" + rest)] if rest else [head]
        node = root
        for i, part in enumerate(parts):
            part = part or str(len(node))
            if i == len(parts) - 1:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return {k: _listify(v, k == "metadata") for k, v in root.items()}


def _listify(node: Any, keep_dict: bool = False) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _listify(v, k == "metadata") for k, v in node.items()}
    if items and not keep_dict and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


def sign_stripe_payload(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """``Stripe-Signature`` header value: ``t=<ts>,v1=<hex HMAC-SHA256(secret, f"{t}.{payload}")>``."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def _error(status: int, message: str, type_: str = "invalid_request_error", **extra: Any) -> FakeResponse:
    return FakeResponse(status, {"error": {"type": type_, "message": message, **extra}})


def _rand(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


class FakeStripe(FakeHTTPServer):
    """Fake Stripe API server. Use ``stripe.StripeClient(key, base_addresses={"api": fake.url})``."""

    def __init__(self, api_version: str = API_VERSION) -> None:
        super().__init__()
        self.api_version = api_version
        self.requests: list[RecordedRequest] = []
        self.sessions: dict[str, dict[str, Any]] = {}  # insertion order == creation order
        self.refunds: list[dict[str, Any]] = []
        self.disputes: list[dict[str, Any]] = []
        self.charges: dict[str, dict[str, Any]] = {}  # by payment intent id
        self._idempotent: dict[str, tuple[str, FakeResponse]] = {}
        self._failures: list[tuple[int, dict[str, str]]] = []
        self._lock = threading.RLock()

    # ----------------------------------------------------------------- test helpers
    def reset(self) -> None:
        """Forget every request, session, refund, idempotency key, scripted failure and crash."""
        with self._lock:
            self.requests.clear()
            self.sessions.clear()
            self.refunds.clear()
            self.disputes.clear()
            self.charges.clear()
            self._idempotent.clear()
            self._failures.clear()
            self.errors.clear()

    def mark_paid(self, session_id: str, payment_intent: str | None = None) -> dict[str, Any]:
        """Complete a session as Stripe does after a successful payment; returns the session."""
        with self._lock:
            session = self.sessions[session_id]
            session.update(payment_status="paid", status="complete")
            session["payment_intent"] = payment_intent or _rand("pi")
            charge_id = _rand("ch")
            self.charges[session["payment_intent"]] = {
                "id": charge_id,
                "object": "charge",
                "amount": session["amount_total"],
                "amount_refunded": 0,
                "created": int(time.time()),
                "currency": session["currency"],
                "metadata": dict(session.get("metadata") or {}),
                "paid": True,
                "payment_intent": session["payment_intent"],
                "receipt_url": f"https://pay.stripe.com/receipts/payment/{_rand('CAcaFwoV')}",
                "refunded": False,
                "status": "succeeded",
            }
            return session

    def add_dispute(
        self, payment_intent: str, status: str = "needs_response", **fields: Any
    ) -> dict[str, Any]:
        """A chargeback on ``payment_intent``'s charge, as Stripe lists it; returns the dispute."""
        with self._lock:
            session = next((s for s in self.sessions.values() if s["payment_intent"] == payment_intent), None)
            dispute = {
                "id": _rand("dp"),
                "object": "dispute",
                "amount": session["amount_total"] if session else 0,
                "currency": session["currency"] if session else "eur",
                "charge": _rand("ch"),
                "created": int(time.time()),
                "metadata": {},
                "payment_intent": payment_intent,
                "reason": "fraudulent",
                "status": status,
                **fields,
            }
            self.disputes.append(dispute)
            return dispute

    def fail_next(self, status_code: int, n: int = 1, headers: Mapping[str, str] | None = None) -> None:
        """Make the next ``n`` requests (any endpoint) fail with ``status_code`` and a Stripe error body."""
        with self._lock:
            self._failures.extend([(status_code, dict(headers or {}))] * n)

    def checkout_session_event(
        self, session_id: str, event_type: str = "checkout.session.completed", event_id: str | None = None
    ) -> bytes:
        """The exact bytes Stripe would POST to a webhook endpoint for this session (current state)."""
        with self._lock:
            session = json.loads(json.dumps(self.sessions[session_id]))
        event = {
            "id": event_id or _rand("evt"),
            "object": "event",
            "api_version": self.api_version,
            "created": int(time.time()),
            "data": {"object": session},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        return json.dumps(event, indent=2).encode()

    # ----------------------------------------------------------------- HTTP
    def handle(self, request: FakeRequest) -> FakeResponse:
        raw = request.body.decode() if request.method == "POST" else request.query
        params = parse_stripe_form(raw)
        with self._lock:
            self.requests.append(
                RecordedRequest(request.method, request.path, request.headers, params, request.connection)
            )
            response = self._dispatch(request, raw, params)
            response.body = response.encoded()  # serialize under the lock: sessions are mutable
        response.headers.setdefault("Request-Id", _rand("req"))
        response.headers.setdefault("Stripe-Version", request.headers.get("stripe-version", self.api_version))
        return response

    def _dispatch(self, request: FakeRequest, raw: str, params: dict[str, Any]) -> FakeResponse:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return _error(401, "You did not provide an API key. Provide it as 'Authorization: Bearer <key>'.")
        if not auth[7:].startswith(("sk_", "rk_")):
            return _error(401, f"Invalid API Key provided: {auth[7:][:8]}***")
        if self._failures:
            status, headers = self._failures.pop(0)
            kind = {402: "card_error"}.get(status, "api_error" if status >= 500 else "invalid_request_error")
            code = {409: "lock_timeout", 429: "rate_limit"}.get(status)
            response = _error(status, f"Simulated failure (HTTP {status}).", kind, code=code)
            response.headers.update(headers)
            return response
        key = request.headers.get("idempotency-key") if request.method == "POST" else None
        fingerprint = f"{request.path}?{raw}"
        if key is not None and key in self._idempotent:
            stored_fingerprint, stored = self._idempotent[key]
            if stored_fingerprint != fingerprint:
                message = "Keys for idempotent requests can only be used with the same parameters they were "
                return _error(400, message + "first used with.", "idempotency_error")
            return FakeResponse(stored.status, stored.body, {**stored.headers, "Idempotent-Replayed": "true"})
        response = self._route(request.method, request.path, params)
        if key is not None and 200 <= response.status < 300:
            response.headers["Idempotency-Key"] = key
            snapshot = FakeResponse(response.status, response.encoded(), dict(response.headers))
            self._idempotent[key] = (fingerprint, snapshot)
        return response

    def _route(self, method: str, path: str, params: dict[str, Any]) -> FakeResponse:
        match = _SESSION_PATH.match(path)
        if method == "POST" and path == "/v1/checkout/sessions":
            return FakeResponse(200, self._create_session(params))
        if method == "GET" and path == "/v1/checkout/sessions":
            return self._list_sessions(params)
        if method == "GET" and path == "/v1/refunds":
            return self._list(self.refunds, params, path)
        if method == "GET" and path == "/v1/disputes":
            return self._list(self.disputes, params, path)
        if method == "POST" and path == "/v1/refunds":
            return self._create_refund(params)
        if method == "GET" and _INTENT_PATH.match(path):
            return self._payment_intent(_INTENT_PATH.match(path).group(1), params)  # type: ignore[union-attr]
        if method == "GET" and _CHARGE_PATH.match(path):
            charge_id = _CHARGE_PATH.match(path).group(1)  # type: ignore[union-attr]
            charge = next((c for c in self.charges.values() if c["id"] == charge_id), None)
            if charge is None:
                return _error(404, f"No such charge: '{charge_id}'", code="resource_missing", param="id")
            return FakeResponse(200, charge)
        if method == "GET" and match:
            if match.group(1) in self.sessions:
                return FakeResponse(200, self.sessions[match.group(1)])
            message = f"No such checkout.session: '{match.group(1)}'"
            return _error(404, message, code="resource_missing", param="session")
        return _error(404, f"Unrecognized request URL ({method}: {path}).")

    def _payment_intent(self, intent_id: str, params: dict[str, Any]) -> FakeResponse:
        session = next((s for s in self.sessions.values() if s["payment_intent"] == intent_id), None)
        charge = self.charges.get(intent_id)
        if session is None or charge is None:
            return _error(
                404, f"No such payment_intent: '{intent_id}'", code="resource_missing", param="intent"
            )
        expand = params.get("expand") or []
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": session["amount_total"],
            "created": charge["created"],
            "currency": session["currency"],
            "latest_charge": charge if "latest_charge" in expand else charge["id"],
            "metadata": dict(session.get("metadata") or {}),
            "status": "succeeded",
        }
        return FakeResponse(200, intent)

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        now = int(time.time())
        session_id = "cs_test_" + "".join(secrets.choice(_ALNUM) for _ in range(58))
        line_items: list[dict[str, Any]] = params.get("line_items") or []
        priced = [(item.get("price_data") or {}, int(item.get("quantity", 1))) for item in line_items]
        amount = sum(int(price.get("unit_amount", 0)) * quantity for price, quantity in priced)
        currency = next((p["currency"].lower() for p, _ in priced if p.get("currency")), None)
        session: dict[str, Any] = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": amount,
            "amount_total": amount,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "currency": currency,
            "customer": None,
            "customer_email": params.get("customer_email"),
            "expires_at": int(params.get("expires_at") or now + 24 * 3600),
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "mode": params.get("mode"),
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params.get("success_url"),
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
        }
        self.sessions[session_id] = session
        return session

    def _list_sessions(self, params: dict[str, Any]) -> FakeResponse:
        return self._list(list(self.sessions.values()), params, "/v1/checkout/sessions")

    def _list(self, objects: list[dict[str, Any]], params: dict[str, Any], url: str) -> FakeResponse:
        items = list(reversed(objects))
        created = params.get("created")
        if isinstance(created, dict):
            ops = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}
            for op, bound in created.items():
                items = [s for s in items if ops[op](s["created"], int(bound))]
        elif created is not None:
            items = [s for s in items if s["created"] == int(created)]
        if params.get("starting_after"):
            ids = [s["id"] for s in items]
            after = params["starting_after"]
            items = items[ids.index(after) + 1 :] if after in ids else []
        limit = max(1, min(int(params.get("limit", 10)), 100))
        body = {"object": "list", "data": items[:limit], "has_more": len(items) > limit}
        return FakeResponse(200, {**body, "url": url})

    def _create_refund(self, params: dict[str, Any]) -> FakeResponse:
        pi = params.get("payment_intent")
        session = next((s for s in self.sessions.values() if pi and s["payment_intent"] == pi), None)
        if session is None:
            message = f"No such payment_intent: '{pi}'"
            return _error(404, message, code="resource_missing", param="payment_intent")
        refunded = sum(r["amount"] for r in self.refunds if r["payment_intent"] == pi)
        remaining = session["amount_total"] - refunded
        amount = int(params.get("amount", remaining))
        if remaining <= 0:
            message = f"Charge for payment intent {pi} has already been refunded."
            return _error(400, message, code="charge_already_refunded")
        if amount <= 0 or amount > remaining:
            message = f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})"
            return _error(400, message, code="amount_too_large", param="amount")
        refund = {
            "id": _rand("re"),
            "object": "refund",
            "amount": amount,
            "charge": _rand("ch"),
            "created": int(time.time()),
            "currency": session["currency"],
            "metadata": params.get("metadata") or {},
            "payment_intent": pi,
            "reason": params.get("reason"),
            "status": "succeeded",
        }
        self.refunds.append(refund)
        return FakeResponse(200, refund)
