"""Each wire shape is defined once, in payouts.representations.

The JSON the API sends, the check of a request body and the OpenAPI document
(through the serializers made from the shapes) all come from that definition;
enumerations come from the models' choices. These tests hold the three views
of a shape together, and pin the few copies that live outside the API layer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers as drf

from api import serializers
from api.pagination import InvalidStatusFilter
from common.errors import InvalidAmount, InvalidBankAccount, InvalidField, InvalidRequestBody
from ledger.models import LedgerEntry
from merchants.models import BankAccount
from payouts import representations as wire
from payouts import services
from payouts.models import Payout, PayoutEvent

MOMENT = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=timezone(timedelta(hours=5, minutes=30)))

SAMPLES = {
    "Payout": Payout(
        id=41,
        amount_paise=2_500,
        bank_account_id=7,
        status="failed",
        attempts=3,
        failure_reason="no answer from the bank",
        failure_code="no_bank_answer",
        reference_id="inv-2026.03_41",
        narration="March invoice",
        notes='{"customer":"Asha","order":"A-17"}',
        bank_reference="UTR-NOT-SENT-UNLESS-COMPLETED",
        created_at=MOMENT,
        updated_at=MOMENT + timedelta(seconds=1),
    ),
    "LedgerEntry": LedgerEntry(
        id=9, kind="payout", amount_paise=-2_500, description="payout #41", payout_id=41, created_at=MOMENT
    ),
    "PayoutEvent": PayoutEvent(from_status=None, to_status="pending", attempt=0, reason="requested", created_at=MOMENT),
    "BankAccount": BankAccount(
        id=7,
        holder_name="Asha Rao",
        ifsc="HDFC0001234",
        account_last4="7890",
        status="verified",
        registered_name="ASHA RAO",
        created_at=MOMENT,
    ),
    "Balance": {"available_paise": 7_500, "held_paise": 2_500, "currency": "INR"},
    "Me": SimpleNamespace(id=3, name="Asha Traders"),
    "Health": {"database": "ok", "redis": "unavailable", "worker": "stale"},
    "Live": {"status": "ok"},
    "Ready": {"database": "ok"},
    "DemoMerchant": {"id": 3, "name": "Asha Traders", "api_key": "sk_demo_x"},
    "Error": {"error": {"code": "invalid_amount", "message": "No.", "field": "amount_paise"}},
}

RENDERED = {
    "Payout": {
        "id": 41,
        "amount_paise": 2_500,
        "bank_account_id": 7,
        "status": "failed",
        "attempts": 3,
        "failure_reason": "no answer from the bank",
        "failure_code": "no_bank_answer",
        "reference_id": "inv-2026.03_41",
        "narration": "March invoice",
        "notes": {"customer": "Asha", "order": "A-17"},
        "utr": None,
        "created_at": "2026-03-03T23:36:07.890123Z",
        "updated_at": "2026-03-03T23:36:08.890123Z",
    },
    "LedgerEntry": {
        "id": 9,
        "kind": "payout",
        "amount_paise": -2_500,
        "description": "payout #41",
        "payout_id": 41,
        "created_at": "2026-03-03T23:36:07.890123Z",
    },
    "PayoutEvent": {
        "from_status": None,
        "to_status": "pending",
        "attempt": 0,
        "reason": "requested",
        "created_at": "2026-03-03T23:36:07.890123Z",
    },
    "BankAccount": {
        "id": 7,
        "holder_name": "Asha Rao",
        "ifsc": "HDFC0001234",
        "account_last4": "7890",
        "status": "verified",
        "registered_name": "ASHA RAO",
        "rejection_reason": None,
        "created_at": "2026-03-03T23:36:07.890123Z",
    },
    "Me": {"id": 3, "name": "Asha Traders"},
}

RESPONSE_SHAPES = [
    wire.PAYOUT,
    wire.LEDGER_ENTRY,
    wire.PAYOUT_EVENT,
    wire.BANK_ACCOUNT,
    wire.BALANCE,
    wire.ME,
    wire.HEALTH,
    wire.LIVE,
    wire.READY,
    wire.DEMO_MERCHANT,
    wire.ERROR,
]


@pytest.fixture(scope="module")
def components() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]


@pytest.mark.parametrize("shape", RESPONSE_SHAPES, ids=lambda shape: shape.name)
def test_a_shape_renders_exactly_the_properties_its_component_documents(shape, components):
    rendered = shape.render(SAMPLES[shape.name])
    component = components[shape.name]

    assert rendered == RENDERED.get(shape.name, SAMPLES[shape.name])
    assert list(rendered) == list(component["properties"])
    assert sorted(component["required"]) == sorted(rendered)


@pytest.mark.parametrize("shape", RESPONSE_SHAPES, ids=lambda shape: shape.name)
def test_a_shapes_serializer_renders_what_the_shape_renders(shape):
    serializer = serializers.serializer_for(shape)

    assert serializer.__name__ == f"{shape.name}Serializer"
    assert serializer(SAMPLES[shape.name]).data == shape.render(SAMPLES[shape.name])


def test_a_rendered_moment_is_what_drfs_own_datetime_field_writes():
    assert wire.iso(MOMENT) == drf.DateTimeField().to_representation(MOMENT.astimezone(UTC))


def test_the_documented_enums_are_the_models_choices(components):
    payouts_list = SchemaGenerator().get_schema(request=None, public=True)["paths"]["/api/v1/payouts"]["get"]
    status_filter = next(p for p in payouts_list["parameters"] if p["name"] == "status")

    assert (
        components["PayoutStatus"]["enum"] == Payout.Status.values == ["pending", "processing", "completed", "failed"]
    )
    assert components["KindEnum"]["enum"] == LedgerEntry.Kind.values == ["payment", "payout", "reversal"]
    assert status_filter["schema"]["enum"] == sorted(Payout.Status.values)  # parameters list them sorted
    assert InvalidStatusFilter.message == "status must be one of pending, processing, completed, failed."
    # The name the document gives the status enum is looked up by its values in the settings.
    assert settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["PayoutStatus"] == Payout.Status.values


def test_the_amount_rule_is_one_rule_in_the_request_the_response_and_the_money_core(components):
    for component in ("PayoutRequestRequest", "Payout"):
        amount = components[component]["properties"]["amount_paise"]
        assert (amount["minimum"], amount["maximum"]) == (1, 2**63 - 1), component

    assert wire.AMOUNT_PAISE.maximum == services.MAX_AMOUNT_PAISE == 2**63 - 1
    assert str(wire.AMOUNT_PAISE.maximum) in InvalidAmount.message


REQUESTS = [
    ([1, 2], InvalidRequestBody),
    ("text", InvalidRequestBody),
    ({}, InvalidAmount),
    ({"bank_account_id": 7}, InvalidAmount),
    ({"amount_paise": True, "bank_account_id": 7}, InvalidAmount),
    ({"amount_paise": 1.0, "bank_account_id": 7}, InvalidAmount),
    ({"amount_paise": "100", "bank_account_id": 7}, InvalidAmount),
    ({"amount_paise": 0, "bank_account_id": 7}, InvalidAmount),
    ({"amount_paise": 2**63, "bank_account_id": 7}, InvalidAmount),
    ({"amount_paise": None, "bank_account_id": None}, InvalidAmount),
    ({"amount_paise": 100}, InvalidBankAccount),
    ({"amount_paise": 100, "bank_account_id": "7"}, InvalidBankAccount),
    ({"amount_paise": 100, "bank_account_id": False}, InvalidBankAccount),
    ({"amount_paise": 100, "bank_account_id": -7}, InvalidBankAccount),
    ({"amount_paise": 100, "bank_account_id": 2**70}, InvalidBankAccount),
]


@pytest.mark.parametrize(("body", "error"), REQUESTS)
def test_the_request_serializer_refuses_a_body_with_the_apis_error_for_it(body, error):
    with pytest.raises(error) as refused:
        serializers.PayoutRequest(data=body).is_valid()

    assert type(refused.value) is error


def test_the_request_serializer_accepts_the_limits_and_passes_other_fields_through():
    body = {"amount_paise": 2**63 - 1, "bank_account_id": 1, "note": "kept for the fingerprint"}
    serializer = serializers.PayoutRequest(data=body)

    assert serializer.is_valid()
    assert serializer.validated_data == body
    assert serializers.payout_request(body) is body


def test_a_request_shape_must_name_an_error_for_each_field():
    with pytest.raises(AssertionError, match="PayoutRequest"):
        serializers.request_validator(wire.PAYOUT_REQUEST, not_an_object=InvalidRequestBody, errors=[InvalidAmount])


ATTACHMENTS_REFUSED = [
    ("reference_id", ""),
    ("reference_id", "a" * 41),
    ("reference_id", "inv 41"),
    ("reference_id", "inv/41"),
    ("reference_id", "ünï"),
    ("reference_id", 41),
    ("narration", ""),
    ("narration", "x" * 31),
    ("narration", "tab\there"),
    ("narration", "line\nbreak"),
    ("narration", "₹ rupee"),
    ("narration", ["March"]),
    ("notes", "order=A-17"),
    ("notes", ["A-17"]),
    ("notes", {f"k{i}": "v" for i in range(16)}),
    ("notes", {"order": 17}),
    ("notes", {"order": None}),
    ("notes", {"order": "x" * 257}),
    ("notes", {"order": "lone \ud800 surrogate"}),
    ("notes", {"lone \udfff": "surrogate key"}),
]


@pytest.mark.parametrize(("field", "value"), ATTACHMENTS_REFUSED)
def test_an_attachment_the_contract_does_not_allow_is_invalid_field_naming_it(field, value):
    body = {"amount_paise": 100, "bank_account_id": 7, field: value}

    with pytest.raises(InvalidField) as refused:
        serializers.payout_request(body)

    assert (refused.value.code, refused.value.field, refused.value.status) == ("invalid_field", field, 400)


def test_attachments_at_their_limits_are_accepted():
    body = {
        "amount_paise": 100,
        "bank_account_id": 7,
        "reference_id": "A-z_0.9" + "x" * 33,
        "narration": " !~" + "y" * 27,
        "notes": {("" if i == 0 else f"k{i}\x00"): "ü" * 255 + "\x00" for i in range(15)},
    }

    assert serializers.payout_request(body) is body
    assert serializers.payout_request({"amount_paise": 1, "bank_account_id": 1, "reference_id": None}) is not None
