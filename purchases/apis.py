"""Purchase API: checkout, Stripe webhook, order status and content. Thin: parse, call, shape."""

from __future__ import annotations

import logging
from typing import Any

from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from articles.content import render_html
from blogorder.api_errors import ErrorSerializer, error_body
from blogorder.throttling import client_ip, throttle_wait
from purchases import stripe_api
from purchases.errors import NoContent
from purchases.intake import checkout_submit, quote_submit
from purchases.models import Order, OrderMessage
from purchases.selectors import (
    decision_price,
    order_customer_actions,
    order_get_for_customer,
    order_message_author,
    order_message_thread,
    order_preview,
    order_price,
    order_queue_state,
    order_receipt,
    order_versions,
    version_preview,
)
from purchases.serializers import (
    ArticleCheckoutInSerializer,
    ArticleQuoteInSerializer,
    BacklinkQuoteInSerializer,
    CheckoutInSerializer,
    CheckoutOutSerializer,
    ContentSerializer,
    MessageInSerializer,
    MessageSerializer,
    OrderActionInSerializer,
    OrderLookupInSerializer,
    OrderLookupOutSerializer,
    OrderStatusSerializer,
    QuoteOutSerializer,
    RegenerateOutSerializer,
    SubmitForReviewInSerializer,
    VersionItemSerializer,
)
from purchases.services.lookup import lookup_answer_text, order_lookup_request
from purchases.services.messages import order_message_post
from purchases.services.review import order_regenerate, order_submit_for_review
from purchases.services.runs import order_queue
from purchases.services.webhooks import stripe_webhook_handle
from purchases.status_messages import order_status_view
from purchases.throttles import (
    ACTION_THROTTLES,
    CHECKOUT_THROTTLES,
    MESSAGE_ORDER_THROTTLES,
    MESSAGE_THROTTLES,
    ORDERS_LINK_THROTTLES,
    LookupThrottle,
    QuoteThrottle,
)
from queueing.selectors import estimate_wait_seconds

logger = logging.getLogger(__name__)

# The OpenAPI security of the order endpoints: the "orderToken" scheme (SPECTACULAR_SETTINGS).
# drf-spectacular writes ``auth`` verbatim as the operation's ``security`` list of requirement
# objects, although it annotates the parameter as ``Sequence[str]``.
ORDER_TOKEN_AUTH: Any = [{"orderToken": []}]

# Error answers, all of the shape ErrorSerializer documents; each description lists the codes.
ORDER_NOT_FOUND = OpenApiResponse(
    response=ErrorSerializer,
    description="`not_found`: no such order, or the bearer token is missing or wrong (the two look the same).",
)
ORDER_ID_INVALID = OpenApiResponse(
    response=ErrorSerializer,
    description="`invalid`: `orderId` is missing or not a UUID (named in `fields`); `parse_error`: not JSON.",
)
RATE_LIMITED = OpenApiResponse(
    response=ErrorSerializer,
    description=(
        "`rate_limited`: too many requests from this client (or for this address); `Retry-After` "
        "gives the seconds to wait. Rates: README, Limits."
    ),
)
CHECKOUT_EXAMPLES = [
    OpenApiExample(
        "Backlink in a published article",
        value={
            "orderType": "backlink",
            "articleId": 1,
            "targetUrl": "https://shop.example.com/tents",
            "anchorText": "lightweight hiking tents",
            "customerNotes": "A paragraph about packing light would fit best.",
            "customerEmail": "buyer@example.com",
        },
        request_only=True,
    ),
    OpenApiExample(
        "New sponsored article",
        value={
            "orderType": "article",
            "topic": "Planning a first overnight hike",
            "keywords": ["hiking checklist", "trail snacks"],
            "wordCount": 800,
            "targetUrl": "https://shop.example.com/tents",
            "anchorText": "lightweight hiking tents",
            "customerEmail": "buyer@example.com",
        },
        request_only=True,
    ),
]


LINK_REFUSED_WORDS = (
    "`link_refused`: the publisher's link policy refuses the link (a blocked domain or subdomain, a "
    "blocked niche, or a niche this article refuses); `fields` names the one field that matched "
    "(`targetUrl`, `anchorText`, `customerNotes`, `topic` or `keywords`) with the rule in words."
)
QUOTE_EXAMPLES = [
    OpenApiExample(
        "Quote a backlink (the anchor text and address may still be empty)",
        value={
            "orderType": "backlink",
            "articleId": 1,
            "targetUrl": "https://shop.example.com/tents",
            "anchorText": "lightweight hiking tents",
        },
        request_only=True,
    ),
]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


# Bound once per process: a new serializer deep-copies its declared fields (and its nested ones')
# on every response, which cost more than the rest of rendering a status (bench/profile_web.py). Its
# ``to_representation`` keeps no state between calls, so threads may share it.
_STATUS_SERIALIZER = OrderStatusSerializer()


def status_body(order: Order) -> dict[str, object]:
    queue = order_queue_state(order)
    state = order_status_view(order, queue=queue)
    return dict(
        _STATUS_SERIALIZER.to_representation(
            {
                "orderId": order.id,
                "kind": order.kind,
                "status": order.status,
                "statusMessage": state.message,
                "statusLabel": state.label,
                "statusTone": state.tone,
                "publishAt": order.publish_at if order.is_scheduled else None,
                "receipt": order_receipt(order),
                "queue": queue,
                "preview": order_preview(order),
                "regenerationCount": order.regeneration_count,
                "actions": order_customer_actions(order),
                "failureReason": order.failure_reason,
                "updatedAt": order.updated_at,
            }
        )
    )


class OrderApi(APIView):
    """Base for endpoints that need ``Authorization: Bearer <orderToken>``; reads are ``lookup``-limited."""

    throttle_classes = [LookupThrottle]

    def get_order(self, request: Request, order_id: object) -> Order:
        return order_get_for_customer(order_id=order_id, token=bearer_token(request))


class CheckoutApi(APIView):
    throttle_classes = CHECKOUT_THROTTLES

    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="CheckoutRequest",
            serializers={"backlink": CheckoutInSerializer, "article": ArticleCheckoutInSerializer},
            resource_type_field_name="orderType",
        ),
        responses={
            201: CheckoutOutSerializer,
            400: OpenApiResponse(
                response=ErrorSerializer,
                description=(
                    "`invalid`: a field is missing or wrong, each one named in `fields` (an unknown "
                    "`orderType`, or an `articleId` with no article, too); `parse_error`: not JSON; "
                    + LINK_REFUSED_WORDS
                    + " Nothing is written and Stripe is not called."
                ),
            ),
            409: OpenApiResponse(
                response=ErrorSerializer,
                description=(
                    "Backlinks only. `article_unavailable`: the article is not published; "
                    "`sold_out`: it has no backlink slots left. Both kinds: `too_many_open_checkouts`: "
                    "this address or client already has as many unpaid checkouts open as allowed; "
                    "`price_changed`: `acceptedTotal` was sent and the price (with any niche "
                    "surcharge) is now different. Nothing is written."
                ),
            ),
            429: RATE_LIMITED,
            503: OpenApiResponse(
                response=ErrorSerializer,
                description="`payment_provider_unavailable`: Stripe could not open the checkout; try again.",
            ),
        },
        examples=CHECKOUT_EXAMPLES,
        auth=[],
        summary="Buy a backlink (orderType backlink, the default) or a new sponsored article",
    )
    def post(self, request: Request) -> Response:
        order, token = checkout_submit(request.data, client_ip=client_ip(request))
        body = {
            "orderId": order.id,
            "orderToken": token,
            "checkoutUrl": order.checkout_url,
            "price": order_price(order),
        }
        return Response(CheckoutOutSerializer(body).data, status=status.HTTP_201_CREATED)


class QuoteApi(APIView):
    throttle_classes = [QuoteThrottle]

    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="QuoteRequest",
            serializers={"backlink": BacklinkQuoteInSerializer, "article": ArticleQuoteInSerializer},
            resource_type_field_name="orderType",
        ),
        responses={
            200: QuoteOutSerializer,
            400: OpenApiResponse(
                response=ErrorSerializer,
                description=(
                    "`invalid`: a field is wrong, named in `fields`; `parse_error`: not JSON; "
                    + LINK_REFUSED_WORDS
                ),
            ),
            409: OpenApiResponse(
                response=ErrorSerializer, description="`article_unavailable`: the article is not published."
            ),
            429: RATE_LIMITED,
        },
        examples=QUOTE_EXAMPLES,
        auth=[],
        summary="The price of a checkout (with any niche surcharge) or why it would be refused; writes nothing",
    )
    def post(self, request: Request) -> Response:
        quote = quote_submit(request.data)
        quote.decision.raise_if_refused()
        body = {
            "price": decision_price(quote.decision),
            "slotsLeft": quote.slots_left,
            "linkPreview": quote.link_preview,
        }
        return Response(QuoteOutSerializer(body).data)


@method_decorator(csrf_exempt, name="dispatch")
class StripeWebhookApi(APIView):
    # The signature covers the raw body, so nothing parses it; and JSON only: the browsable
    # HTML renderer needs a parser to draw its form.
    parser_classes: list = []
    renderer_classes = [JSONRenderer]

    @extend_schema(
        request=None,
        responses={
            200: OpenApiResponse(description="Event accepted"),
            400: OpenApiResponse(
                response=ErrorSerializer,
                description=(
                    "`invalid_signature`: `Stripe-Signature` is missing or does not match the payload; "
                    "nothing is recorded."
                ),
            ),
        },
        auth=[],
        summary="Stripe webhook (Stripe-Signature required)",
    )
    def post(self, request: Request) -> Response:
        try:
            outcome = stripe_webhook_handle(
                payload=request.body, signature_header=request.headers.get("Stripe-Signature")
            )
        except stripe_api.InvalidSignature as exc:
            logger.warning("stripe webhook rejected", extra={"reason": str(exc)})
            return Response(
                error_body("invalid_signature", "Stripe signature verification failed."), status=400
            )
        except stripe_api.MalformedEvent as exc:
            logger.warning("stripe webhook malformed", extra={"reason": str(exc)})
            return Response(error_body("invalid_event", f"The event could not be used: {exc}"), status=400)
        return Response({"received": True, "outcome": outcome})


class OrderStatusApi(OrderApi):
    @extend_schema(
        responses={200: OrderStatusSerializer, 404: ORDER_NOT_FOUND, 429: RATE_LIMITED},
        auth=ORDER_TOKEN_AUTH,
        summary="Order status (poll while PENDING_PAYMENT or PROCESSING; slowly while waiting on people)",
    )
    def get(self, request: Request, order_id: str) -> Response:
        return Response(status_body(self.get_order(request, order_id)))


class OrderContentApi(OrderApi):
    @extend_schema(
        responses={
            200: ContentSerializer,
            404: ORDER_NOT_FOUND,
            409: OpenApiResponse(
                response=ErrorSerializer,
                description="`no_content`: no draft yet; poll the status endpoint until one is ready.",
            ),
            429: RATE_LIMITED,
        },
        auth=ORDER_TOKEN_AUTH,
        summary="The order's current version in full",
    )
    def get(self, request: Request, order_id: str) -> Response:
        order = self.get_order(request, order_id)
        version = order.current_version
        if version is None:
            raise NoContent("There is no draft yet; poll the status endpoint until it is ready.")
        body = {
            "orderId": order.id,
            "versionId": version.pk,
            "versionNumber": version.number,
            "title": version.title,
            "bodyMarkdown": version.body_markdown,
            "bodyHtml": render_html(version.body_markdown),
            "backlinkMetadata": version.backlink_metadata,
            "createdAt": version.created_at,
        }
        return Response(ContentSerializer(body).data)


class OrderActionApi(OrderApi):
    """POST endpoints taking ``{orderId}`` with the order's bearer token."""

    in_serializer: type[OrderActionInSerializer] = OrderActionInSerializer

    def validated_body(self, request: Request) -> dict[str, Any]:
        serializer = self.in_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def order_from_body(self, request: Request) -> Order:
        return self.get_order(request, self.validated_body(request)["orderId"])


class RegenerateApi(OrderActionApi):
    throttle_classes = ACTION_THROTTLES["regenerate"]

    @extend_schema(
        request=OrderActionInSerializer,
        responses={
            202: RegenerateOutSerializer,
            400: ORDER_ID_INVALID,
            404: ORDER_NOT_FOUND,
            409: OpenApiResponse(
                response=ErrorSerializer,
                description=(
                    "`action_not_allowed`: the order is not in QUALITY_CHECK, or a draft is already "
                    "being written."
                ),
            ),
            429: RATE_LIMITED,
        },
        auth=ORDER_TOKEN_AUTH,
        summary="Ask for a new placement (QUALITY_CHECK only; within the order's spend limits)",
    )
    def post(self, request: Request) -> Response:
        order = self.order_from_body(request)
        job_id = order_regenerate(order_id=order.id)
        estimate = estimate_wait_seconds(queue=order_queue(order), job_id=job_id)
        body = {"jobId": job_id, "estimatedSeconds": estimate}
        return Response(RegenerateOutSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class SubmitForReviewApi(OrderActionApi):
    throttle_classes = ACTION_THROTTLES["submit_for_review"]
    in_serializer = SubmitForReviewInSerializer

    @extend_schema(
        request=SubmitForReviewInSerializer,
        responses={
            200: OrderStatusSerializer,
            400: OpenApiResponse(
                response=ErrorSerializer,
                description=(
                    "`invalid`: `orderId` is missing or not a UUID, or `versionId` is not a positive "
                    "integer or not one of this order's drafts (each named in `fields`); `parse_error`: "
                    "not JSON. Nothing is changed."
                ),
            ),
            404: ORDER_NOT_FOUND,
            409: OpenApiResponse(
                response=ErrorSerializer,
                description=(
                    "`action_not_allowed`: the order is not in QUALITY_CHECK. `draft_outdated`: the "
                    "chosen earlier draft was written on a published version of the article that has "
                    "since been replaced; submit a newer draft or regenerate. Nothing is changed."
                ),
            ),
            429: RATE_LIMITED,
        },
        auth=ORDER_TOKEN_AUTH,
        summary="Send a draft to the editors (the current one, or the one `versionId` names)",
    )
    def post(self, request: Request) -> Response:
        body = self.validated_body(request)
        order = self.get_order(request, body["orderId"])
        return Response(status_body(order_submit_for_review(order_id=order.id, version_id=body["versionId"])))


class OrderVersionsApi(OrderApi):
    @extend_schema(
        responses={200: VersionItemSerializer(many=True), 404: ORDER_NOT_FOUND, 429: RATE_LIMITED},
        auth=ORDER_TOKEN_AUTH,
        summary="The customer's drafts, newest first",
    )
    def get(self, request: Request, order_id: str) -> Response:
        order = self.get_order(request, order_id)
        items = [
            {
                "draftNumber": v.order_draft.number,
                "versionId": v.pk,
                "versionNumber": v.number,
                "integrationType": v.backlink_metadata.get("integration_type", ""),
                "current": v.pk == order.current_version_id,
                "createdAt": v.created_at,
                "preview": version_preview(v),
            }
            for v in order_versions(order)
        ]
        return Response(VersionItemSerializer(items, many=True).data)


def message_item(message: OrderMessage) -> dict[str, Any]:
    """A message of the thread as the customer's API gives it."""
    return {
        "id": message.pk,
        "author": message.side,
        "authorName": order_message_author(message, for_staff=False),
        "body": message.body,
        "requestedChanges": message.requested_changes,
        "createdAt": message.created_at,
    }


class OrderMessagesApi(OrderApi):
    @extend_schema(
        responses={200: MessageSerializer(many=True), 404: ORDER_NOT_FOUND, 429: RATE_LIMITED},
        auth=ORDER_TOKEN_AUTH,
        summary="The order's conversation with the editors, oldest first",
    )
    def get(self, request: Request, order_id: str) -> Response:
        order = self.get_order(request, order_id)
        items = [message_item(m) for m in order_message_thread(order)]
        return Response(MessageSerializer(items, many=True).data)


class MessagePostApi(OrderActionApi):
    """Write to the editors; limited per client (every post) and per order (once the token is checked)."""

    throttle_classes = MESSAGE_THROTTLES
    in_serializer = MessageInSerializer

    @extend_schema(
        request=MessageInSerializer,
        responses={
            201: MessageSerializer,
            400: OpenApiResponse(
                response=ErrorSerializer,
                description=(
                    "`invalid`: `orderId` is missing or not a UUID, or `body` is missing, empty, longer "
                    "than `ORDER_MESSAGE_MAX_CHARS` or holds control characters (each named in `fields`); "
                    "`parse_error`: not JSON. Nothing is written."
                ),
            ),
            404: ORDER_NOT_FOUND,
            409: OpenApiResponse(
                response=ErrorSerializer,
                description="`action_not_allowed`: the order is not paid yet. Nothing is written.",
            ),
            429: OpenApiResponse(
                response=ErrorSerializer,
                description=(
                    "`rate_limited`: too many messages from this client, or on this order; `Retry-After` "
                    "gives the seconds to wait. Rates: README, Limits."
                ),
            ),
        },
        examples=[
            OpenApiExample(
                "A message",
                value={
                    "orderId": "7f6c1f4e-2b1a-4c55-9a3e-0d2f5b8c9e10",
                    "body": "Could the link sit in the paragraph about pillows instead?",
                },
                request_only=True,
            )
        ],
        auth=ORDER_TOKEN_AUTH,
        summary="Write to the editors (plain text); they are emailed, and the next draft weighs it",
        description=(
            "Adds a message to the order's conversation (`GET /api/v1/purchase/messages/{orderId}`). "
            "The editors are emailed once, in a digest of the messages written within "
            "`ORDER_MESSAGE_DIGEST_SECONDS`. The next draft's writer is given your latest messages as "
            "quoted wishes, never as instructions: the quality checks still apply (no other links)."
        ),
    )
    def post(self, request: Request) -> Response:
        body = self.validated_body(request)
        order = self.get_order(request, body["orderId"])
        wait = throttle_wait(request, MESSAGE_ORDER_THROTTLES)
        if wait is not None:
            raise exceptions.Throttled(wait=wait)
        message = order_message_post(order_id=order.id, side=OrderMessage.Side.CUSTOMER, body=body["body"])
        return Response(MessageSerializer(message_item(message)).data, status=status.HTTP_201_CREATED)


class OrderLookupApi(APIView):
    """Email an address the link to all its orders; the same 202 whether or not it has any."""

    throttle_classes = ORDERS_LINK_THROTTLES

    @extend_schema(
        request=OrderLookupInSerializer,
        responses={
            202: OrderLookupOutSerializer,
            400: OpenApiResponse(
                response=ErrorSerializer,
                description="`invalid`: `customerEmail` is missing or not an email address (named in "
                "`fields`); `parse_error`: not JSON. Nothing is sent.",
            ),
            429: RATE_LIMITED,
        },
        examples=[
            OpenApiExample("An address", value={"customerEmail": "buyer@example.com"}, request_only=True)
        ],
        auth=[],
        summary="Email me a link to all my orders (the same 202 for any address)",
        description=(
            "Accepted for any valid address, with orders or without: the answer says nothing about it. "
            "A worker then sends the address one email with a link to the list of its orders (matched "
            "ignoring case), valid `ORDER_LOOKUP_LINK_TTL_HOURS` (24 h by default); an address without "
            "orders gets no email. Limited per client and per address (README, Limits)."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = OrderLookupInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_lookup_request(email=serializer.validated_data["customerEmail"], client_ip=client_ip(request))
        body = OrderLookupOutSerializer({"message": lookup_answer_text()}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)
