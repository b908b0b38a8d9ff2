"""The payout and ledger filters, and their CSV exports (CONTRACT §9), over HTTP."""

from __future__ import annotations

import csv
import io
import tracemalloc
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from api import exports
from bank import gateway as bank
from conftest import MerchantFixture, count
from merchants.account_numbers import account_number_encrypt
from merchants.models import BankAccount
from payouts import services
from payouts.idempotency import request_fingerprint


def _at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=UTC)


def _payout(merchant: MerchantFixture, account_id: int, amount: int, when: datetime, **attached) -> int:
    body = {"amount_paise": amount, "bank_account_id": account_id, **attached}
    created = services.payout_create(
        merchant_id=merchant.id,
        bank_account_id=account_id,
        amount_paise=amount,
        idempotency_key=uuid.uuid4(),
        fingerprint=request_fingerprint(body),
        now=when,
        **attached,
    )
    assert created.status == 201, created.body
    assert created.payout_id is not None
    return created.payout_id


@pytest.fixture
def history(make_merchant):
    """Three payouts over three days, to two accounts: completed, failed (declined), pending."""
    merchant = make_merchant(credit_paise=100_000)
    second = BankAccount.objects.create(
        merchant_id=merchant.id,
        holder_name="Asha Rao",
        ifsc="SBIN0000002",
        account_number_encrypted=account_number_encrypt("222233334444"),
        account_last4="4444",
        status="verified",
        registered_name="ASHA RAO",
        created_at=_at(1),
        decided_at=_at(1),
    )
    merchant.accounts = (merchant.bank_account_id, second.id)
    merchant.p1 = _payout(merchant, merchant.bank_account_id, 1_000, _at(1), reference_id="A-1", narration="=SUM(A1)")
    merchant.p2 = _payout(merchant, second.id, 2_000, _at(2), notes={"order": "B-2", "desk": "north"})
    merchant.p3 = _payout(merchant, merchant.bank_account_id, 3_000, _at(3, 12), reference_id="A-3")
    services.payout_process(payout_id=merchant.p1, gateway=bank.SimulatedBank(outcome="success"))
    services.payout_process(payout_id=merchant.p2, gateway=bank.SimulatedBank(outcome="failure"))
    return merchant


def _ids(merchant: MerchantFixture, query: str) -> list[int]:
    reply = merchant.api.get(f"/payouts?{query}")
    assert reply.status == 200, reply.text
    return [payout["id"] for payout in reply.json["results"]]


def test_payouts_filter_by_status_reference_account_and_creation_time(history):
    p1, p2, p3 = history.p1, history.p2, history.p3
    first_account, second_account = history.accounts

    assert _ids(history, "") == [p3, p2, p1]
    assert _ids(history, "status=completed") == [p1]
    assert _ids(history, "status=failed") == [p2]
    assert _ids(history, "reference_id=A-3") == [p3]
    assert _ids(history, "reference_id=A-2") == []
    assert _ids(history, f"bank_account_id={first_account}") == [p3, p1]
    assert _ids(history, f"bank_account_id={second_account}") == [p2]
    assert _ids(history, "bank_account_id=999999") == []
    assert _ids(history, "created_gte=2026-01-02T00:00:00Z") == [p3, p2]  # inclusive
    assert _ids(history, "created_lt=2026-01-02T00:00:00Z") == [p1]  # exclusive
    assert _ids(history, "created_gte=2026-01-02&created_lt=2026-01-03") == [p2]  # dates: midnight UTC
    assert _ids(history, "created_lt=" + quote("2026-01-02T05:30:00.000001+05:30")) == [p2, p1]
    assert _ids(history, "created_lt=2026-01-02T05:30:00+05:30") == [p1]  # an unencoded "+" arrives as a space
    assert _ids(history, "created_gte=2026-01-03T12:00:00") == [p3]  # no offset: UTC
    assert _ids(history, f"status=pending&bank_account_id={first_account}&created_gte=2026-01-01") == [p3]


def test_a_filtered_list_keeps_its_filters_from_page_to_page(history):
    first = history.api.get(f"/payouts?bank_account_id={history.accounts[0]}&limit=1").json
    second = history.api.get(first["next"].split("/api/v1", 1)[1]).json

    assert [p["id"] for p in first["results"]] == [history.p3]
    assert [p["id"] for p in second["results"]] == [history.p1]
    assert second["next"] is None


def test_another_merchants_account_filters_to_nothing(history, make_merchant):
    other = make_merchant(credit_paise=10_000)

    assert _ids(other, f"bank_account_id={history.accounts[0]}") == []
    assert _ids(other, "reference_id=A-1") == []


def test_the_ledger_filters_by_kind_and_creation_time(history):
    def kinds(query: str) -> list[tuple[str, int]]:
        reply = history.api.get(f"/ledger?{query}")
        assert reply.status == 200, reply.text
        return [(entry["kind"], entry["amount_paise"]) for entry in reply.json["results"]]

    assert kinds("kind=payout") == [("payout", -3_000), ("payout", -2_000), ("payout", -1_000)]
    assert kinds("kind=reversal") == [("reversal", 2_000)]
    assert kinds("kind=payment") == [("payment", 100_000)]
    assert kinds("created_gte=2026-01-02&created_lt=2026-01-04") == [("payout", -3_000), ("payout", -2_000)]
    assert kinds("kind=payout&created_lt=2026-01-02") == [("payout", -1_000)]


@pytest.mark.parametrize(
    ("path", "query", "code", "parameter"),
    [
        ("/payouts", "status=done", "invalid_status", "status"),
        ("/payouts", "reference_id=A%201", "invalid_filter", "reference_id"),
        ("/payouts", "reference_id=" + "x" * 41, "invalid_filter", "reference_id"),
        ("/payouts", "bank_account_id=abc", "invalid_filter", "bank_account_id"),
        ("/payouts", "bank_account_id=-1", "invalid_filter", "bank_account_id"),
        ("/payouts", "bank_account_id=0", "invalid_filter", "bank_account_id"),
        ("/payouts", "bank_account_id=99999999999999999999", "invalid_filter", "bank_account_id"),
        ("/payouts", "created_gte=yesterday", "invalid_filter", "created_gte"),
        ("/payouts", "created_lt=2026-13-01", "invalid_filter", "created_lt"),
        ("/payouts", "created_lt=2026-02-30T00:00:00Z", "invalid_filter", "created_lt"),
        ("/payouts", "created_gte=1767225600", "invalid_filter", "created_gte"),
        ("/ledger", "kind=fee", "invalid_filter", "kind"),
        ("/ledger", "created_gte=2026-01-01T25:00:00Z", "invalid_filter", "created_gte"),
        ("/payouts/export.csv", "created_lt=soon", "invalid_filter", "created_lt"),
        ("/payouts/export.csv", "status=paid", "invalid_status", "status"),
        ("/ledger/export.csv", "kind=refund", "invalid_filter", "kind"),
    ],
)
def test_a_bad_filter_is_400_naming_the_parameter(make_merchant, path, query, code, parameter):
    merchant = make_merchant(credit_paise=1_000)

    reply = merchant.api.get(f"{path}?{query}", headers={"Accept": "*/*"})

    assert reply.status == 400, reply.text
    assert reply.headers["content-type"] == "application/json"
    assert reply.json["error"]["code"] == code
    assert reply.json["error"]["field"] == parameter


def _csv(reply) -> list[dict[str, str]]:
    assert reply.status == 200, reply.text
    return list(csv.DictReader(io.StringIO(reply.text)))


def test_the_payouts_export_is_every_matching_payout_as_csv(history):
    reply = history.api.get("/payouts/export.csv", headers={"Accept": "text/csv"})
    (reference,) = [row[0] for row in _rows("SELECT reference FROM payouts_payout WHERE id = %s", [history.p1])]

    rows = _csv(reply)
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert reply.headers["content-disposition"] == 'attachment; filename="payouts.csv"'
    assert "content-length" not in reply.headers  # streamed
    assert reply.text.splitlines()[0] == (
        "id,created_at,updated_at,status,amount_paise,bank_account_id,reference_id,narration,utr,"
        "failure_code,failure_reason,attempts,notes"
    )
    assert [(r["id"], r["status"], r["amount_paise"], r["bank_account_id"]) for r in rows] == [
        (str(history.p3), "pending", "3000", str(history.accounts[0])),
        (str(history.p2), "failed", "2000", str(history.accounts[1])),
        (str(history.p1), "completed", "1000", str(history.accounts[0])),
    ]
    p3, p2, p1 = rows
    assert (p3["created_at"], p3["reference_id"], p3["narration"], p3["utr"], p3["notes"]) == (
        "2026-01-03T12:00:00Z",
        "A-3",
        "",
        "",
        "",
    )
    assert (p2["failure_code"], p2["failure_reason"], p2["attempts"]) == (
        "beneficiary_name_mismatch",
        "declined by the bank: beneficiary name mismatch",
        "1",
    )
    assert p2["notes"] == '{"desk": "north", "order": "B-2"}'
    assert p1["utr"] == history.api.get(f"/payouts/{history.p1}").json["utr"]
    assert p1["utr"].startswith("UTR") and reference.startswith("PO")
    assert p1["narration"] == "'=SUM(A1)"  # never a spreadsheet formula


def test_the_payouts_export_takes_the_lists_filters(history):
    def exported(query: str) -> list[str]:
        return [row["id"] for row in _csv(history.api.get(f"/payouts/export.csv?{query}"))]

    assert exported("status=failed") == [str(history.p2)]
    assert exported("reference_id=A-1") == [str(history.p1)]
    assert exported(f"bank_account_id={history.accounts[0]}&created_gte=2026-01-02") == [str(history.p3)]
    assert exported("created_gte=2027-01-01") == []


def test_the_ledger_export_is_every_matching_entry_with_signed_paise(history):
    rows = _csv(history.api.get("/ledger/export.csv?kind=payout&created_lt=2026-01-03"))

    assert [(r["kind"], r["amount_paise"], r["payout_id"], r["created_at"]) for r in rows] == [
        ("payout", "-2000", str(history.p2), "2026-01-02T00:00:00Z"),
        ("payout", "-1000", str(history.p1), "2026-01-01T00:00:00Z"),
    ]
    every = _csv(history.api.get("/ledger/export.csv"))
    assert [(r["kind"], r["amount_paise"]) for r in every] == [
        ("reversal", "2000"),
        ("payout", "-3000"),
        ("payout", "-2000"),
        ("payout", "-1000"),
        ("payment", "100000"),
    ]
    assert every[-1]["payout_id"] == ""


def test_an_export_shows_only_the_merchants_own_rows(history, make_merchant):
    other = make_merchant(credit_paise=5_000)

    assert _csv(other.api.get("/payouts/export.csv")) == []
    assert [r["amount_paise"] for r in _csv(other.api.get("/ledger/export.csv"))] == ["5000"]


def test_an_export_needs_an_api_key(api):
    reply = api.get("/ledger/export.csv")

    assert reply.status == 401
    assert reply.json["error"]["code"] == "unauthenticated"


# --- streaming ------------------------------------------------------------------------------

ROWS = 10_000


def _load_ledger(merchant_id: int, rows: int) -> None:
    """``rows`` payment entries in one statement, as bench/bench.py loads a long ledger."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_ledgerentry (merchant_id, kind, amount_paise, description, created_at) "
            "SELECT %s, 'payment', 100 + n, 'load ' || n, now() FROM generate_series(1, %s) AS n",
            [merchant_id, rows],
        )


def test_ten_thousand_entries_are_exported_over_http(make_merchant):
    merchant = make_merchant(credit_paise=1_000)
    _load_ledger(merchant.id, ROWS)

    rows = _csv(merchant.api.get("/ledger/export.csv"))

    assert len(rows) == ROWS + 1
    assert [r["amount_paise"] for r in rows[:2]] == [str(100 + ROWS), str(100 + ROWS - 1)]
    assert rows[-1]["amount_paise"] == "1000"
    assert sum(int(r["amount_paise"]) for r in rows) == 1_000 + 100 * ROWS + ROWS * (ROWS + 1) // 2


def _export_in_process(api_key: str) -> tuple[int, int, int, int, list[str]]:
    """GET /ledger/export.csv through Django in this process: (chunks, largest chunk, lines, peak bytes
    allocated while the body is produced, the SQL of its ledger reads)."""
    client = Client(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/ledger/export.csv")
        assert response.status_code == 200
        assert response.streaming
        tracemalloc.start()
        try:
            chunks, largest, lines = 0, 0, 0
            for chunk in response.streaming_content:
                chunks += 1
                largest = max(largest, len(chunk))
                lines += chunk.count(b"\r\n")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        response.close()
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "ledger_ledgerentry"' in q["sql"]]
    return chunks, largest, lines, peak, reads


def test_an_export_is_sent_a_page_at_a_time_never_buffered_whole(make_merchant, monkeypatch):
    merchant = make_merchant(credit_paise=1_000)
    _load_ledger(merchant.id, ROWS)

    chunks, largest, lines, peak, reads = _export_in_process(merchant.api_key)
    monkeypatch.setattr(exports, "PAGE_ROWS", ROWS + 1)  # what reading it all at once would hold
    _, whole_file, whole_lines, peak_whole, _ = _export_in_process(merchant.api_key)

    assert lines == whole_lines == 1 + ROWS + 1  # the header, the loaded rows, the credit
    assert exports.PAGE_ROWS == ROWS + 1
    assert chunks == 1 + 6  # the header, then pages of 2 000 rows: 5 full ones and one of a single row
    assert len(reads) == 6
    assert all("LIMIT 2000" in sql for sql in reads)
    assert largest * 4 < whole_file  # a page's lines, not the file
    assert peak * 2 < peak_whole, (peak, peak_whole)  # one page at a time, not 10 001 rows


def _rows(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_the_loaded_rows_count_as_the_tests_expect(make_merchant):
    merchant = make_merchant()
    _load_ledger(merchant.id, 3)

    assert count("ledger_ledgerentry", "merchant_id = %s", [merchant.id]) == 3
