"""The JSON shapes of the API, each defined once.

A ``Shape`` is a named, ordered set of typed fields. Everything else about a
wire shape is derived from that one definition:

* rendering: ``Shape.render(obj)`` builds the JSON object from a model row (or
  from a mapping, for shapes built from a selector's dict). It is what the
  views send and what ``payout_create`` stores verbatim for idempotent replays;
* validation of a request body: ``Shape.first_refused(body)`` names the first
  field whose value the shape does not accept (the API turns it into that
  field's error code);
* the OpenAPI document: ``api.serializers`` turns each shape into the
  DRF serializer drf-spectacular documents (and the TypeScript types are
  generated from that document).

Enumerations come from the models' choices, never from repeated literals. The
amount rule (a positive JSON integer of paise that fits in 64 bits) is
``AMOUNT_PAISE``.

Rendering and validation are plain attribute reads and type checks, no
framework: the 201 of ``POST /payouts`` is rendered while the merchant's row
lock is held, and the request is validated on every payout.

This module imports no web framework: the money core (``payout_create``)
renders through it.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import models

from ledger.models import LedgerEntry
from merchants.models import PAYMENT_REFERENCE_PATTERN, BankAccount
from payouts.models import Payout

# The largest integer a 64-bit signed column (and so any amount or id) holds.
MAX_BIGINT = 2**63 - 1


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, microseconds kept."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def notes_text(notes: dict[str, str] | None) -> str:
    """A payout's notes as they are stored: canonical JSON text (sorted keys, ASCII, escapes for the rest)."""
    return json.dumps(notes or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def render(data: Any) -> str:
    """Compact JSON text, as DRF's renderer writes it."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def rupees(paise: int) -> str:
    """Paise as Indian rupees with Indian digit grouping: 12345678 → "₹1,23,456.78"."""
    sign = "-" if paise < 0 else ""
    whole, fraction = divmod(abs(paise), 100)
    digits = str(whole)
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    grouped = ",".join([*groups, tail]) if groups else tail
    return f"{sign}₹{grouped}.{fraction:02d}"


# --- fields ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Field:
    """One property of a shape.

    ``source`` is where its value comes from: an attribute (or key) name when
    it differs from the property's, or a function of the object rendered.
    """

    source: str | Callable[[Any], Any] | None = None
    nullable: bool = False
    # A request may leave it out (absent and null are the same).
    optional: bool = False
    help_text: str | None = None

    def to_json(self) -> Callable[[Any], Any] | None:
        """The conversion of the value read into its JSON form; None: sent as it is."""
        return None

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError(f"{type(self).__name__} is not a request field")


@dataclass(frozen=True, kw_only=True)
class Integer(Field):
    """A JSON integer: never a float (1.0), a string ("1") or a boolean."""

    minimum: int | None = None
    maximum: int | None = None

    def accepts(self, value: Any) -> bool:
        if type(value) is not int:
            return value is None and (self.nullable or self.optional)
        return (self.minimum is None or value >= self.minimum) and (self.maximum is None or value <= self.maximum)


@dataclass(frozen=True, kw_only=True)
class Text(Field):
    """A string; as a request field, one that matches ``pattern`` (a full match) when it has one."""

    pattern: str | None = None
    max_length: int | None = None

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.optional or self.nullable
        if type(value) is not str or (self.max_length is not None and len(value) > self.max_length):
            return False
        return self.pattern is None or re.fullmatch(self.pattern, value) is not None


@dataclass(frozen=True, kw_only=True)
class StringMap(Field):
    """A JSON object of string keys to string values, at most ``max_items`` of them.

    Values are at most ``max_value_length`` characters; keys any string (the
    request's size bounds them: OpenAPI 3.0 cannot describe a limit on keys).
    Neither may hold a lone surrogate (JSON can carry one, UTF-8 cannot).
    Rendered from the canonical JSON text it is stored as (``notes_text``),
    or from a dict, with its keys in order.
    """

    max_items: int
    max_value_length: int

    def to_json(self) -> Callable[[Any], Any]:
        return lambda stored: dict(sorted((json.loads(stored) if isinstance(stored, str) else stored).items()))

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.optional or self.nullable
        if type(value) is not dict or len(value) > self.max_items:
            return False
        return all(
            type(key) is str
            and type(text) is str
            and len(text) <= self.max_value_length
            and _encodable(key)
            and _encodable(text)
            for key, text in value.items()
        )


def _encodable(text: str) -> bool:
    """Valid Unicode text: no lone surrogate (JSON can carry one, UTF-8 cannot)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True, kw_only=True)
class Choice(Field):
    """One of a fixed set of strings; ``choices`` is the model's enumeration (its values)."""

    choices: tuple[str, ...]

    @classmethod
    def of(cls, enumeration: type[models.TextChoices], **options: Any) -> Choice:
        return cls(choices=tuple(enumeration.values), **options)


@dataclass(frozen=True, kw_only=True)
class Timestamp(Field):
    """A moment, as ISO 8601 UTC text ending in ``Z``."""

    def to_json(self) -> Callable[[Any], Any]:
        return iso


@dataclass(frozen=True, kw_only=True)
class Nested(Field):
    """An object of another shape."""

    shape: Shape

    def to_json(self) -> Callable[[Any], Any]:
        return self.shape.render


# --- shapes ------------------------------------------------------------------------------


class Shape:
    """A named JSON object: its fields in the order they are sent.

    ``from_mapping``: rendered from a dict (``obj[key]``) rather than from an
    object's attributes.
    """

    def __init__(self, name: str, fields: dict[str, Field], *, from_mapping: bool = False) -> None:
        self.name = name
        self.fields = fields
        self.from_mapping = from_mapping
        # (key, attribute or key to read, function of the object, conversion), resolved once.
        self._plan = tuple(
            (
                key,
                field.source if isinstance(field.source, str) else key,
                field.source if callable(field.source) else None,
                field.to_json(),
            )
            for key, field in fields.items()
        )

    def __repr__(self) -> str:
        return f"<Shape {self.name}>"

    def render(self, obj: Any) -> dict:
        """The JSON object for ``obj``: a dict ready for ``json.dumps``."""
        read: Callable[[Any, str], Any] = operator.getitem if self.from_mapping else getattr
        out = {}
        for key, name, compute, to_json in self._plan:
            value = compute(obj) if compute is not None else read(obj, name)
            out[key] = value if to_json is None else to_json(value)
        return out

    def first_refused(self, body: Mapping[str, Any]) -> str | None:
        """The name of the first field (in order) whose value in ``body`` is missing or not accepted."""
        for key, field in self.fields.items():
            if not field.accepts(body.get(key)):
                return key
        return None


# --- the rules shared by several shapes ------------------------------------------------------

AMOUNT_PAISE = Integer(minimum=1, maximum=MAX_BIGINT)
# An id a client sends: a positive 64-bit integer (what the database's ids can be).
ID = Integer(minimum=1, maximum=MAX_BIGINT)
PAYOUT_STATUS = Choice.of(Payout.Status)
# What a merchant attaches to a payout (CONTRACT §9).
REFERENCE_ID_PATTERN = r"[A-Za-z0-9_.\-]{1,40}"
REFERENCE_ID = Text(
    pattern=REFERENCE_ID_PATTERN,
    max_length=40,
    optional=True,
    help_text="Your own id for this payout: 1 to 40 of A-Z a-z 0-9 _ - . ; unique among your payouts.",
)
# Printable ASCII, as bank narrations are.
NARRATION = Text(
    pattern=r"[ -~]{1,30}",
    max_length=30,
    optional=True,
    help_text="Shown on the beneficiary's statement: 1 to 30 printable ASCII characters.",
)
NOTES = StringMap(
    max_items=15,
    max_value_length=256,
    optional=True,
    help_text="Up to 15 string keys to strings of up to 256 characters, for your own use.",
)


class DependencyState(models.TextChoices):
    OK = "ok"
    UNAVAILABLE = "unavailable"


class WorkerState(models.TextChoices):
    OK = "ok"
    STALE = "stale"


# --- requests ------------------------------------------------------------------------------

PAYOUT_REQUEST = Shape(
    "PayoutRequest",
    {
        "amount_paise": AMOUNT_PAISE,
        "bank_account_id": ID,
        "reference_id": REFERENCE_ID,
        "narration": NARRATION,
        "notes": NOTES,
    },
)

# Money in (CONTRACT §7): a customer payment, from the collections system or the demo.
PAYMENT_CREDIT_REQUEST = Shape(
    "PaymentCreditRequest",
    {
        "merchant_id": ID,
        "amount_paise": AMOUNT_PAISE,
        "reference": Text(
            pattern=PAYMENT_REFERENCE_PATTERN,
            max_length=64,
            help_text=(
                "The collections system's reference of this customer payment: 1 to 64 of A-Z a-z 0-9 _ - . : / ; "
                "unique across the system. Resending it credits nothing more."
            ),
        ),
        "description": Text(
            pattern=r"[^\x00]{1,200}",
            max_length=200,
            optional=True,
            help_text="Shown on the ledger entry (default: Customer payment <reference>).",
        ),
    },
)
DEMO_PAYMENT_REQUEST = Shape("DemoPaymentRequest", {"amount_paise": AMOUNT_PAISE})

# --- responses -----------------------------------------------------------------------------

ERROR = Shape(
    "Error",
    {
        "error": Nested(
            shape=Shape(
                "ErrorBody",
                {"code": Text(), "message": Text(), "field": Text(nullable=True)},
                from_mapping=True,
            )
        )
    },
    from_mapping=True,
)

PAYOUT = Shape(
    "Payout",
    {
        "id": Integer(),
        "amount_paise": AMOUNT_PAISE,
        "bank_account_id": Integer(),
        "status": PAYOUT_STATUS,
        "attempts": Integer(minimum=0),
        "failure_reason": Text(nullable=True),
        "failure_code": Choice.of(
            Payout.FailureCode, nullable=True, help_text="Why it failed, as a stable code; null unless failed."
        ),
        "reference_id": Text(nullable=True),
        "narration": Text(nullable=True),
        "notes": StringMap(max_items=15, max_value_length=256),
        "utr": Text(
            source=lambda payout: (payout.bank_reference or None) if payout.status == Payout.Status.COMPLETED else None,
            nullable=True,
            help_text="The bank's reference for the transfer (UTR) once completed; null before.",
        ),
        "created_at": Timestamp(),
        "updated_at": Timestamp(),
    },
)

LEDGER_ENTRY = Shape(
    "LedgerEntry",
    {
        "id": Integer(),
        "kind": Choice.of(LedgerEntry.Kind),
        "amount_paise": Integer(),
        "description": Text(),
        "payout_id": Integer(nullable=True),
        "created_at": Timestamp(),
    },
)

PAYMENT_CREDIT = Shape(
    "PaymentCredit",
    {
        "id": Integer(),
        "merchant_id": Integer(),
        "amount_paise": AMOUNT_PAISE,
        "reference": Text(),
        "description": Text(),
        "ledger_entry_id": Integer(help_text="The payment entry of the merchant's ledger."),
        "created_at": Timestamp(),
    },
)

PAYOUT_EVENT = Shape(
    "PayoutEvent",
    {
        "from_status": Choice.of(Payout.Status, nullable=True),
        "to_status": PAYOUT_STATUS,
        "attempt": Integer(minimum=0),
        "reason": Text(),
        "created_at": Timestamp(),
    },
)

BANK_ACCOUNT = Shape(
    "BankAccount",
    {
        "id": Integer(),
        "holder_name": Text(),
        "ifsc": Text(),
        "account_last4": Text(),
        "status": Choice.of(
            BankAccount.Status,
            help_text="pending_verification until the bank answers; payouts go to verified accounts only.",
        ),
        "registered_name": Text(nullable=True, help_text="The name the bank has on record; null until verified."),
        "rejection_reason": Text(nullable=True, help_text="Why the bank rejected the account; null unless rejected."),
        "created_at": Timestamp(),
    },
)

BALANCE = Shape(
    "Balance",
    {
        "available_paise": Integer(minimum=0),
        "held_paise": Integer(minimum=0),
        "currency": Choice(choices=("INR",)),
    },
    from_mapping=True,
)

ME = Shape("Me", {"id": Integer(), "name": Text()})

HEALTH = Shape(
    "Health",
    {
        "database": Choice.of(DependencyState),
        "redis": Choice.of(DependencyState),
        "worker": Choice.of(WorkerState, help_text="stale: no worker has swept for three sweep intervals (15 s)"),
    },
    from_mapping=True,
)

LIVE = Shape("Live", {"status": Choice(choices=(DependencyState.OK.value,))}, from_mapping=True)

READY = Shape("Ready", {"database": Choice(choices=(DependencyState.OK.value,))}, from_mapping=True)

DEMO_MERCHANT = Shape("DemoMerchant", {"id": Integer(), "name": Text(), "api_key": Text()}, from_mapping=True)


# The names the money core and the views render with.
payout_as_dict = PAYOUT.render
ledger_entry_as_dict = LEDGER_ENTRY.render
payout_event_as_dict = PAYOUT_EVENT.render
bank_account_as_dict = BANK_ACCOUNT.render
