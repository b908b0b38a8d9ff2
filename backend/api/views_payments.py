"""Money in over HTTP (CONTRACT §7): the collections system's credits, and the demo's.

``POST /internal/payments`` is for the collections system, with its own
bearer token (``INTERNAL_API_TOKEN``): never a merchant's key or session, no
merchant rate limit, 404 while the token is unset. ``POST /demo/payments`` lets
a signed-in owner simulate a customer payment, in ``DEMO_MODE`` only. Both make
one call to ``merchants.services.payment_credit``, idempotent on the reference.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from api import schema, serializers
from api.auth import InternalTokenAuthentication, IsInternalCaller, Principal
from api.permissions import OWNERS
from api.throttling import client_address
from api.views import MerchantView
from merchants import services
from payouts import representations as wire

_BODY_CODES = ("invalid_body", "malformed_json", "unsupported_media_type", "request_too_large")


class InternalPaymentsView(APIView):
    authentication_classes = [InternalTokenAuthentication]
    permission_classes = [IsInternalCaller]
    throttle_classes: list = []

    @extend_schema(
        **schema.operation(
            {201: serializers.PaymentCredit, 200: serializers.PaymentCredit},
            "invalid_merchant",
            "invalid_amount",
            "invalid_field",
            *_BODY_CODES,
            "unauthenticated",
            "not_found",
            "payment_reference_conflict",
            "balance_limit_exceeded",
            "database_timeout",
            "database_unavailable",
            authenticated=False,
        ),
        request=serializers.PaymentCreditRequest,
        tags=["Internal"],
        operation_id="internal_payments_create",
        description=(
            "For the collections system, not for merchants: credit a customer payment to a merchant. The "
            "reference identifies the payment: the first request with it credits (201); any later one with the "
            "same merchant and amount returns that credit again (200, the same body) and changes nothing; with "
            "another merchant or amount it is 409 payment_reference_conflict. After a timeout, retry with the "
            "same reference. An unknown merchant is 400 invalid_merchant. Needs Authorization: Bearer "
            "<INTERNAL_API_TOKEN>; 404 while the server has none."
        ),
    )
    def post(self, request):
        body = serializers.payment_credit_request(request.data)
        credit = services.payment_credit(
            merchant_id=body["merchant_id"],
            amount_paise=body["amount_paise"],
            reference=body["reference"],
            description=body.get("description"),
            client_address=client_address(request),
        )
        return Response(wire.PAYMENT_CREDIT.render(credit.payment), status=201 if credit.created else 200)


class DemoPaymentsView(MerchantView):
    """A simulated customer payment to the signed-in owner's merchant, in DEMO_MODE only."""

    def get_permissions(self):
        return [OWNERS]

    def initial(self, request, *args, **kwargs):
        if not settings.DEMO_MODE:  # before authentication: the route looks absent
            raise exceptions.NotFound("Not found.")
        super().initial(request, *args, **kwargs)

    @extend_schema(
        **schema.operation(
            {201: serializers.PaymentCredit},
            "invalid_amount",
            *_BODY_CODES,
            "forbidden",
            "not_found",
            "balance_limit_exceeded",
        ),
        request=serializers.DemoPaymentRequest,
        tags=["Demo"],
        operation_id="demo_payments_create",
        description=(
            "DEMO_MODE only (404 otherwise): simulate a customer payment of amount_paise to your merchant, "
            "credited under a new reference demo_<hex>. A signed-in owner only (session and X-CSRFToken)."
        ),
    )
    def post(self, request):
        principal: Principal = request.user
        body = serializers.demo_payment_request(request.data)
        credit = services.payment_credit(
            merchant_id=principal.merchant_id,
            amount_paise=body["amount_paise"],
            reference=services.payment_reference_new("demo"),
            description="Simulated customer payment (demo)",
            user_id=principal.user_id,
            client_address=client_address(request),
        )
        return Response(wire.PAYMENT_CREDIT.render(credit.payment), status=201)
