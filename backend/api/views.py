"""One view per operation. Each parses and validates, then makes one call."""

from __future__ import annotations

import logging
import re
import uuid

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from huey.contrib.djhuey import HUEY
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api import filters, permissions, schema, selectors, serializers, serializers_accounts, throttling
from api.errors import envelope
from api.pagination import NewestFirst
from common import metrics
from common.errors import InvalidBankAccount, InvalidIdempotencyKey
from merchants import accounts
from merchants.accounts import bank_account_details_checked
from merchants.models import BankAccount
from payouts import representations as wire
from payouts import services, tasks
from payouts.idempotency import request_fingerprint
from payouts.representations import DependencyState, WorkerState

logger = logging.getLogger(__name__)
BankAccountStatus = BankAccount.Status

OK, UNAVAILABLE = DependencyState.OK.value, DependencyState.UNAVAILABLE.value


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.warning("health: database unavailable", exc_info=True)
        return False


class HealthView(APIView):
    """Both dependencies, and whether a worker has swept lately (which never changes the status code)."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        **schema.operation({200: serializers.Health}, "dependency_unavailable", authenticated=False), auth=[]
    )
    def get(self, request):
        parts = {"database": OK if _database_answers() else UNAVAILABLE, "redis": OK}
        worker = WorkerState.STALE
        try:
            HUEY.storage.conn.ping()
            worker = WorkerState.OK if tasks.worker_is_fresh() else WorkerState.STALE
        except Exception:
            logger.warning("health: redis unavailable", exc_info=True)
            parts["redis"] = UNAVAILABLE
        down = [name for name, state in parts.items() if state != OK]
        health = wire.HEALTH.render(parts | {"worker": worker.value})
        if not down:
            return Response(health)
        return Response(
            envelope("dependency_unavailable", f"Unavailable: {', '.join(down)}.", down[0]) | health, status=503
        )


class LiveView(APIView):
    """Liveness: 200 while the process serves requests. Touches no dependency."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(**schema.operation({200: serializers.Live}, authenticated=False), auth=[])
    def get(self, request):
        return Response(wire.LIVE.render({"status": OK}))


class ReadyView(APIView):
    """Readiness: 200 when the database answers. Redis down does not make the API unready:
    payouts are still taken (the sweep enqueues them later)."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(**schema.operation({200: serializers.Ready}, "dependency_unavailable", authenticated=False), auth=[])
    def get(self, request):
        if _database_answers():
            return Response(wire.READY.render({"database": OK}))
        body = envelope("dependency_unavailable", "Unavailable: database.", "database") | {"database": UNAVAILABLE}
        return Response(body, status=503)


class MetricsView(APIView):
    """Prometheus text for every API and worker process of this host, for a bearer of METRICS_TOKEN.

    Not a merchant operation: no API key, no rate limit, and not in the OpenAPI
    document. 404 while METRICS_TOKEN is unset; 401 with a missing or wrong token.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    schema = None

    def perform_content_negotiation(self, request, force=False):
        # A scraper asks for text/plain or OpenMetrics; the errors are JSON whatever it accepts.
        return super().perform_content_negotiation(request, force=True)

    def get(self, request):
        token = settings.METRICS_TOKEN
        if not token:
            return Response(envelope("not_found", f"No endpoint at {request.path}."), status=404)
        if not metrics.bearer_matches(request.headers.get("Authorization", ""), token):
            response = Response(envelope("unauthenticated", "A valid metrics bearer token is required."), status=401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return HttpResponse(metrics.metrics_render(), content_type=metrics.CONTENT_TYPE)


class MerchantView(APIView):
    """An operation for an authenticated merchant.

    Reads count against the key's READ_RATE_LIMIT; the rate-limit state of every
    policy that counted the request goes out as RateLimit-Policy and RateLimit,
    on errors too (see api.throttling).
    """

    def get_throttles(self):
        return [throttling.ReadRateThrottle()] if self.request.method in ("GET", "HEAD") else []

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        throttling.add_headers(request, response)
        return response


class MeView(MerchantView):
    @extend_schema(**schema.operation({200: serializers.Me}))
    def get(self, request):
        return Response(wire.ME.render(request.user))


class BalanceView(MerchantView):
    @extend_schema(**schema.operation({200: serializers.Balance}))
    def get(self, request):
        return Response(wire.BALANCE.render(selectors.balance_get(merchant_id=request.user.id)))


class LedgerView(MerchantView):
    @extend_schema(
        **schema.operation(
            {200: schema.page_of("LedgerPage", serializers.LedgerEntry)},
            "invalid_filter",
            "invalid_limit",
            "invalid_cursor",
            parameters=[*schema.PAGE_PARAMETERS, *filters.LEDGER_PARAMETERS],
        )
    )
    def get(self, request):
        found = filters.ledger_filters(request.query_params)
        paginator = NewestFirst()
        page = paginator.paginate_queryset(
            selectors.ledger_entries(merchant_id=request.user.id, **found), request, self
        )
        return paginator.get_paginated_response([wire.LEDGER_ENTRY.render(entry) for entry in page or []])


class BankAccountsView(MerchantView):
    """Reads: every role and API keys. Adding one: the signed-in owner only (a leaked key must not add one)."""

    def get_permissions(self):
        if self.request.method == "POST":
            return [permissions.OWNERS]
        return super().get_permissions()

    @extend_schema(
        **schema.operation({200: schema.list_of(serializers.BankAccount)}),
        operation_id="bank_accounts_list",
        description="The merchant's bank accounts, oldest first, with their verification status.",
    )
    def get(self, request):
        return Response([wire.BANK_ACCOUNT.render(a) for a in selectors.bank_accounts(merchant_id=request.user.id)])

    @extend_schema(
        **schema.operation(
            {201: serializers.BankAccount},
            "invalid_bank_account_details",
            "invalid_body",
            "malformed_json",
            "unsupported_media_type",
            "request_too_large",
            "forbidden",
        ),
        request=serializers_accounts.BankAccountRequest,
        operation_id="bank_accounts_create",
        description=(
            "Add a bank account. It starts pending_verification; the bank's penny-drop check makes it verified "
            "(with the bank's registered_name) or rejected (with rejection_reason) within seconds. Payouts go "
            "to verified accounts only. The signed-in owner only: an API key gets 403 forbidden."
        ),
    )
    def post(self, request):
        principal = request.user
        holder_name, ifsc, number = bank_account_details_checked(request.data)
        account = accounts.bank_account_add(
            merchant_id=principal.merchant_id,
            holder_name=holder_name,
            ifsc=ifsc,
            account_number=number,
            user_id=principal.user_id,
            client_address=throttling.client_address(request),
        )
        tasks.enqueue_verification(account.id)  # committed: the bank is asked now, or by the sweep
        return Response(wire.BANK_ACCOUNT.render(account), status=201)


class BankAccountDetailView(MerchantView):
    def get_permissions(self):
        if self.request.method == "DELETE":
            return [permissions.OWNERS]
        return super().get_permissions()

    @extend_schema(
        **schema.operation({200: serializers.BankAccount}, "not_found"),
        operation_id="bank_account_get",
        description="One of the merchant's bank accounts, with its verification status.",
    )
    def get(self, request, bank_account_id: int):
        account = selectors.bank_account_get(merchant_id=request.user.id, bank_account_id=bank_account_id)
        if account is None:
            return Response(envelope("not_found", "No such bank account."), status=404)
        return Response(wire.BANK_ACCOUNT.render(account))

    @extend_schema(
        **schema.operation({200: serializers.BankAccount}, "forbidden", "not_found"),
        operation_id="bank_account_deactivate",
        description=(
            "Deactivate the account: no new payout goes to it (payouts already in flight complete). Again "
            "changes nothing; a rejected account, which takes no payouts, stays rejected. The signed-in owner only."
        ),
    )
    def delete(self, request, bank_account_id: int):
        principal = request.user
        account = accounts.bank_account_deactivate(
            merchant_id=principal.merchant_id,
            bank_account_id=bank_account_id,
            user_id=principal.user_id,
            client_address=throttling.client_address(request),
        )
        return Response(wire.BANK_ACCOUNT.render(account))


class PayoutsView(MerchantView):
    def get_permissions(self):
        # Reads: any caller of the merchant. A payout: an API key or the signed-in owner.
        if self.request.method == "POST":
            return [permissions.PAYOUT_WRITERS]
        return super().get_permissions()

    def get_throttles(self):
        if self.request.method == "POST":
            return [throttling.PayoutRateThrottle()]
        return super().get_throttles()

    @extend_schema(
        **schema.operation(
            {200: schema.page_of("PayoutPage", serializers.Payout)},
            "invalid_status",
            "invalid_filter",
            "invalid_limit",
            "invalid_cursor",
            parameters=[*schema.PAGE_PARAMETERS, *filters.PAYOUT_PARAMETERS],
        ),
        operation_id="payouts_list",
    )
    def get(self, request):
        found = filters.payout_filters(request.query_params)
        paginator = NewestFirst()
        queryset = selectors.payouts(merchant_id=request.user.id, **found)
        page = paginator.paginate_queryset(queryset, request, self)
        return paginator.get_paginated_response([wire.PAYOUT.render(p) for p in page or []])

    @extend_schema(
        **schema.operation(
            {201: serializers.Payout},
            "invalid_idempotency_key",
            "malformed_json",
            "invalid_body",
            "invalid_amount",
            "invalid_bank_account",
            "invalid_field",
            "request_too_large",
            "unsupported_media_type",
            "reference_id_in_use",
            "insufficient_funds",
            "idempotency_key_reused",
            "forbidden",
            replayed_on=(201, 422),
            parameters=[schema.IDEMPOTENCY_KEY],
        ),
        request=serializers.PayoutRequest,
        operation_id="payouts_create",
        description=(
            "Request a payout. The funds are held at once; the payout is processed in the background. "
            "Retrying with the same Idempotency-Key and body returns the first response again (the 201, "
            "or the 422 insufficient_funds), with the header Idempotent-Replayed: true; nothing new is "
            "created. A retry while the first request is still in flight waits for it and replays it. "
            "reference_id, narration and notes are optional and part of the request: the same key with "
            "other values is idempotency_key_reused. Another of your payouts with the same reference_id: "
            "409 reference_id_in_use (not remembered under the key)."
        ),
    )
    def post(self, request):
        merchant_id = request.user.id
        key = _idempotency_key(request.headers.get("Idempotency-Key"))
        body = serializers.payout_request(request.data)
        bank_account_id = body["bank_account_id"]
        # One statement, the one that always checked the account is the merchant's: now it also says why not.
        account_status = selectors.bank_account_status(merchant_id=merchant_id, bank_account_id=bank_account_id)
        if account_status is None:
            raise InvalidBankAccount()
        response = services.payout_create(
            merchant_id=merchant_id,
            bank_account_id=bank_account_id,
            amount_paise=body["amount_paise"],
            idempotency_key=key,
            fingerprint=request_fingerprint(body),
            reference_id=body.get("reference_id"),
            narration=body.get("narration"),
            notes=body.get("notes"),
            # Not verified: refused, unless the key replays a payout made while it was (payout_create).
            bank_account_refusal=_NOT_PAYABLE.get(account_status),
        )
        if response.payout_id is not None:  # committed: hand it to the worker
            metrics.PAYOUTS_CREATED.inc()
            tasks.enqueue_processing(response.payout_id)
        http = HttpResponse(response.body, status=response.status, content_type="application/json")
        if response.replayed:
            http["Idempotent-Replayed"] = "true"
        return http


_NOT_PAYABLE: dict[str, str] = {
    BankAccountStatus.PENDING_VERIFICATION: (
        "This bank account is still pending verification by the bank; payouts go to verified accounts only."
    ),
    BankAccountStatus.REJECTED: "This bank account was rejected by the bank; payouts go to verified accounts only.",
    BankAccountStatus.DEACTIVATED: "This bank account is deactivated; payouts go to verified accounts only.",
}

_IDEMPOTENCY_KEY = re.compile(schema.IDEMPOTENCY_KEY_PATTERN)


def _idempotency_key(raw: str | None) -> uuid.UUID:
    """The key exactly as the OpenAPI document describes it: a UUID, bare or quoted."""
    if raw is None or raw.strip() == "":
        raise InvalidIdempotencyKey("The Idempotency-Key header is required: a UUID you choose for this payout.")
    value = raw.strip()
    if not _IDEMPOTENCY_KEY.fullmatch(value):
        raise InvalidIdempotencyKey()
    return uuid.UUID(value.strip('"'))


class PayoutDetailView(MerchantView):
    @extend_schema(**schema.operation({200: serializers.Payout}, "not_found"), operation_id="payout_get")
    def get(self, request, payout_id: int):
        payout = selectors.payout_get(merchant_id=request.user.id, payout_id=payout_id)
        if payout is None:
            return Response(envelope("not_found", "No such payout."), status=404)
        return Response(wire.PAYOUT.render(payout))


class PayoutEventsView(MerchantView):
    @extend_schema(
        **schema.operation({200: schema.list_of(serializers.PayoutEvent)}, "not_found"),
        operation_id="payout_events_list",
    )
    def get(self, request, payout_id: int):
        events = selectors.payout_events(merchant_id=request.user.id, payout_id=payout_id)
        if events is None:
            return Response(envelope("not_found", "No such payout."), status=404)
        return Response([wire.PAYOUT_EVENT.render(e) for e in events])


class DemoMerchantsView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        **schema.operation({200: schema.list_of(serializers.DemoMerchant)}, "not_found", authenticated=False), auth=[]
    )
    def get(self, request):
        if not settings.DEMO_MODE:
            return Response(envelope("not_found", "Not found."), status=404)
        return Response([wire.DEMO_MERCHANT.render(m) for m in selectors.demo_merchants()])


class NotFoundView(APIView):
    """Any other path under /api/v1: a 404 in the envelope, DEBUG or not."""

    authentication_classes = []
    permission_classes = [AllowAny]
    schema = None

    def dispatch(self, request, *args, **kwargs):
        self.args, self.kwargs, self.request = args, kwargs, request
        self.headers = self.default_response_headers
        response = Response(envelope("not_found", f"No endpoint at {request.path}."), status=404)
        return self.finalize_response(self.initialize_request(request), response)
