"""CSV exports: every row a filtered list matches, streamed in constant memory.

Rows are read newest first in keyset pages (``id < last id seen``, a page at
a time, each its own short query on the merchant's index), written as CSV
lines and sent as they are made: however many rows match, the process holds
one page. No transaction stays open across the export, so it never holds
back vacuum or a lock; rows created while it runs (their ids are higher) are
not included. Amounts are integer paise, times ISO 8601 UTC.

A text cell a merchant or the bank wrote that a spreadsheet would read as a
formula (``=``, ``+``, ``-``, ``@``, a tab or carriage return first) is sent
with a leading apostrophe.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from django.db.models import Case, CharField, QuerySet, Value, When

from payouts.models import Payout
from payouts.representations import iso

PAGE_ROWS = 2000

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str | None) -> str:
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _readable(notes: str) -> str:
    """Stored notes (ASCII JSON) as JSON a person reads: keys sorted, characters as they are."""
    return json.dumps(json.loads(notes), sort_keys=True, ensure_ascii=False)


def _plain(value: Any) -> Any:
    return "" if value is None else value


class _Line:
    """A file-like object whose write returns the line: csv.writer formats, the generator sends."""

    def write(self, value: str) -> str:
        return value


class Export:
    """One CSV: its columns, each read from a field of the row and formatted."""

    def __init__(self, columns: Sequence[tuple[str, str, Callable[[Any], Any]]]) -> None:
        self.header = [name for name, _, _ in columns]
        self.fields = [field for _, field, _ in columns]
        self.formats = [fmt for _, _, fmt in columns]

    def lines(self, queryset: QuerySet, *, page_rows: int | None = None) -> Iterator[bytes]:
        """The header, then a line per row, newest first, read ``page_rows`` (``PAGE_ROWS``) at a time."""
        page_rows = page_rows or PAGE_ROWS
        writer = csv.writer(_Line(), lineterminator="\r\n")
        yield writer.writerow(self.header).encode()
        rows = queryset.order_by("-id").values_list("id", *self.fields)
        last_id: int | None = None
        while True:
            page = list((rows if last_id is None else rows.filter(id__lt=last_id))[:page_rows])
            if not page:
                return
            chunk = [
                writer.writerow([fmt(value) for fmt, value in zip(self.formats, row[1:], strict=True)]) for row in page
            ]
            last_id = page[-1][0]
            yield "".join(chunk).encode()
            if len(page) < page_rows:
                return


PAYOUTS = Export(
    [
        ("id", "id", _plain),
        ("created_at", "created_at", iso),
        ("updated_at", "updated_at", iso),
        ("status", "status", _plain),
        ("amount_paise", "amount_paise", _plain),
        ("bank_account_id", "bank_account_id", _plain),
        ("reference_id", "reference_id", _text),
        ("narration", "narration", _text),
        ("utr", "utr", _text),
        ("failure_code", "failure_code", _plain),
        ("failure_reason", "failure_reason", _text),
        ("attempts", "attempts", _plain),
        ("notes", "notes", lambda notes: "" if notes == "{}" else _text(_readable(notes))),
    ]
)

LEDGER = Export(
    [
        ("id", "id", _plain),
        ("created_at", "created_at", iso),
        ("kind", "kind", _plain),
        ("amount_paise", "amount_paise", _plain),
        ("payout_id", "payout_id", _plain),
        ("description", "description", _text),
    ]
)


def payouts_with_utr(queryset: QuerySet[Payout]) -> QuerySet[Payout]:
    """The payouts with ``utr``: the bank's reference once completed, else empty (as the API's null)."""
    return queryset.annotate(
        utr=Case(
            When(status=Payout.Status.COMPLETED, then="bank_reference"), default=Value(""), output_field=CharField()
        )
    )
