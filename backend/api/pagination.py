"""Cursor pages, newest first: {"results", "next", "previous"}; ?limit= up to 100; the list filters' errors."""

from __future__ import annotations

from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

from common.errors import PayoutError
from payouts.models import Payout


class InvalidCursor(PayoutError):
    code = "invalid_cursor"
    field = "cursor"
    message = "The cursor is not valid; use the next or previous URL of a page."


class InvalidLimit(PayoutError):
    code = "invalid_limit"
    field = "limit"
    message = "limit must be a whole number from 1 to 100."


class InvalidStatusFilter(PayoutError):
    code = "invalid_status"
    field = "status"
    message = f"status must be one of {', '.join(Payout.Status.values)}."


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size = 20
    max_page_size = 100
    page_size_query_param = "limit"

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
        if not (raw.isascii() and raw.isdigit()) or not raw.strip("0"):
            raise InvalidLimit()
        if len(raw.lstrip("0")) > 3:  # caps without int(), which refuses 4300+ digits
            return self.max_page_size
        return min(int(raw), self.max_page_size)

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound as exc:
            raise InvalidCursor() from exc
        # The position is compared with ids: a forged non-number would fail in the query.
        position = None if cursor is None or cursor.position is None else str(cursor.position)
        if position is not None and not (position.isascii() and position.isdigit() and len(position) <= 19):
            raise InvalidCursor()
        return cursor
