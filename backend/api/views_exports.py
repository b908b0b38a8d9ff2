"""CSV exports of the payout and ledger lists: the lists' filters, every matching row, streamed."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema

from api import exports, filters, schema, selectors
from api.views import MerchantView

_CSV = "text/csv; charset=utf-8"


def _csv_response(lines, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type=_CSV)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _operation(description: str, *codes: str, parameters) -> dict:
    options = schema.operation(
        {200: OpenApiResponse(OpenApiTypes.STR, description=description)}, *codes, parameters=parameters
    )
    ok = options["responses"].pop(200)
    options["responses"].pop(406)  # the file is sent whatever the Accept header says
    options["responses"] = {(200, "text/csv"): ok, **options["responses"]}
    return options


class CsvExportView(MerchantView):
    def perform_content_negotiation(self, request, force=False):
        # The file is CSV whatever the client accepts; its errors are JSON.
        return super().perform_content_negotiation(request, force=True)


class PayoutsExportView(CsvExportView):
    @extend_schema(
        **_operation(
            "Every payout the filters match, newest first, one CSV line each (amounts in paise, times ISO 8601 "
            "UTC; notes as a JSON object). Streamed: as long as the list is.",
            "invalid_status",
            "invalid_filter",
            parameters=filters.PAYOUT_PARAMETERS,
        ),
        operation_id="payouts_export",
    )
    def get(self, request):
        found = filters.payout_filters(request.query_params)
        rows = exports.payouts_with_utr(selectors.payouts(merchant_id=request.user.id, **found))
        return _csv_response(exports.PAYOUTS.lines(rows), "payouts.csv")


class LedgerExportView(CsvExportView):
    @extend_schema(
        **_operation(
            "Every ledger entry the filters match, newest first, one CSV line each (signed amounts in paise, "
            "times ISO 8601 UTC). Streamed: as long as the ledger is.",
            "invalid_filter",
            parameters=filters.LEDGER_PARAMETERS,
        ),
        operation_id="ledger_export",
    )
    def get(self, request):
        found = filters.ledger_filters(request.query_params)
        rows = selectors.ledger_entries(merchant_id=request.user.id, **found)
        return _csv_response(exports.LEDGER.lines(rows), "ledger.csv")
