"""One DRF serializer per wire shape, made from its definition in ``payouts.representations``.

drf-spectacular documents these (and the dashboard's TypeScript types are
generated from that document). They render and validate through the shape
itself, so a serializer, the views and the stored 201 of ``POST /payouts``
cannot disagree: ``to_representation`` is ``Shape.render``, and a request
serializer's ``to_internal_value`` is its ``request_validator``, which raises
the refused field's own ``PayoutError`` (the code, message and field the API
answers with).

The views call the shapes directly on the hot paths: instantiating a DRF
serializer per request (and copying its fields) is what they avoid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.errors import (
    InvalidAmount,
    InvalidBankAccount,
    InvalidField,
    InvalidMerchant,
    InvalidRequestBody,
    PayoutError,
)
from merchants.services import InvalidDescription, InvalidReference
from payouts import representations as wire
from payouts.representations import Choice, Field, Integer, Nested, Shape, StringMap, Text, Timestamp


def _string_map_field(field: StringMap, options: dict[str, Any]) -> serializers.Field:
    """A DictField documented with its limits (DRF's own says nothing of them)."""
    schema = {
        "type": "object",
        "maxProperties": field.max_items,
        "additionalProperties": {"type": "string", "maxLength": field.max_value_length},
    }
    if field.nullable:
        schema["nullable"] = True
    documented = extend_schema_field(schema)(type("StringMapField", (serializers.DictField,), {}))
    return documented(child=serializers.CharField(max_length=field.max_value_length), **options)


def _drf_field(field: Field) -> serializers.Field:
    options: dict[str, Any] = {"allow_null": field.nullable}
    if field.optional:
        options["required"] = False
    if field.help_text:
        options["help_text"] = field.help_text
    if isinstance(field, Integer):
        return serializers.IntegerField(min_value=field.minimum, max_value=field.maximum, **options)
    if isinstance(field, Choice):
        return serializers.ChoiceField(list(field.choices), **options)
    if isinstance(field, Timestamp):
        return serializers.DateTimeField(**options)
    if isinstance(field, Nested):
        return serializer_for(field.shape)(**options)
    if isinstance(field, StringMap):
        return _string_map_field(field, options)
    if isinstance(field, Text):
        if field.pattern is not None:
            return serializers.RegexField(f"^{field.pattern}$", max_length=field.max_length, **options)
        return serializers.CharField(max_length=field.max_length, **options)
    raise TypeError(f"no serializer field for {field!r}")


def request_validator(
    shape: Shape, *, not_an_object: type[PayoutError], errors: Iterable[type[PayoutError]]
) -> Callable[[Any], dict]:
    """The check of a request body against ``shape``: the body itself, or the first refusal's error.

    ``errors`` gives each field the error its refusal raises (matched on
    ``PayoutError.field``); ``not_an_object`` is raised for a body that is
    not a JSON object. Fields not in the shape pass through untouched.
    """
    by_field = {error.field: error for error in errors}
    assert set(by_field) == set(shape.fields), f"{shape.name}: errors for {list(by_field)}, fields {list(shape.fields)}"

    def validated(body: Any) -> dict:
        if not isinstance(body, dict):
            raise not_an_object()
        refused = shape.first_refused(body)
        if refused is not None:
            raise by_field[refused]()
        return body

    return validated


_SERIALIZERS: dict[str, type[serializers.Serializer]] = {}


def serializer_for(shape: Shape, validator: Callable[[Any], dict] | None = None) -> type[serializers.Serializer]:
    """The serializer of ``shape``; its class name gives the OpenAPI component its name."""
    if shape.name in _SERIALIZERS:
        return _SERIALIZERS[shape.name]
    attributes: dict[str, Any] = {name: _drf_field(field) for name, field in shape.fields.items()}
    attributes["to_representation"] = lambda self, instance: shape.render(instance)
    if validator is not None:
        attributes["to_internal_value"] = lambda self, data: validator(data)
    attributes["__module__"] = __name__
    serializer = type(f"{shape.name}Serializer", (serializers.Serializer,), attributes)
    _SERIALIZERS[shape.name] = serializer
    return serializer


payout_request = request_validator(
    wire.PAYOUT_REQUEST,
    not_an_object=InvalidRequestBody,
    errors=[
        InvalidAmount,
        InvalidBankAccount,
        InvalidField.of("reference_id", "reference_id must be 1 to 40 of A-Z a-z 0-9 _ - . (or left out)."),
        InvalidField.of("narration", "narration must be 1 to 30 printable ASCII characters (or left out)."),
        InvalidField.of(
            "notes",
            "notes must be an object of at most 15 string keys to strings of up to 256 characters.",
        ),
    ],
)

PayoutRequest = serializer_for(wire.PAYOUT_REQUEST, payout_request)
Error = serializer_for(wire.ERROR)
Payout = serializer_for(wire.PAYOUT)
LedgerEntry = serializer_for(wire.LEDGER_ENTRY)
PayoutEvent = serializer_for(wire.PAYOUT_EVENT)
BankAccount = serializer_for(wire.BANK_ACCOUNT)
Balance = serializer_for(wire.BALANCE)
Me = serializer_for(wire.ME)
Health = serializer_for(wire.HEALTH)
Live = serializer_for(wire.LIVE)
Ready = serializer_for(wire.READY)
DemoMerchant = serializer_for(wire.DEMO_MERCHANT)

payment_credit_request = request_validator(
    wire.PAYMENT_CREDIT_REQUEST,
    not_an_object=InvalidRequestBody,
    errors=[InvalidMerchant, InvalidAmount, InvalidReference, InvalidDescription],
)
demo_payment_request = request_validator(
    wire.DEMO_PAYMENT_REQUEST, not_an_object=InvalidRequestBody, errors=[InvalidAmount]
)
PaymentCreditRequest = serializer_for(wire.PAYMENT_CREDIT_REQUEST, payment_credit_request)
DemoPaymentRequest = serializer_for(wire.DEMO_PAYMENT_REQUEST, demo_payment_request)
PaymentCredit = serializer_for(wire.PAYMENT_CREDIT)
