"""Merchant onboarding and credits: every way a merchant, its users, keys and money arrive.

Each function is one use case with its own durable transaction. A credit
(``payment_credit``) takes ``merchant_lock`` first and posts through the ledger
(``ledger_payment_credit``), like every other money change; the customer
payment's reference makes it idempotent (``PaymentCredit``, unique reference).
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from common.errors import (
    BalanceLimitExceeded,
    InvalidAmount,
    InvalidField,
    InvalidMerchant,
    InvalidRequestField,
    NotFound,
    PaymentReferenceConflict,
)
from ledger.postings import MAX_AMOUNT_PAISE, ledger_payment_credit
from merchants.account_numbers import account_number_encrypt
from merchants.keys import api_key_hash
from merchants.locks import merchant_lock
from merchants.models import (
    PAYMENT_REFERENCE_PATTERN,
    ApiKey,
    BankAccount,
    Merchant,
    PaymentCredit,
    Role,
    SecurityEvent,
    User,
)
from webhooks.outbox import event_record

API_KEY_PREFIX_LENGTH = 12  # "sk_live_" and 4 characters of the secret: enough to tell keys apart


@dataclass(frozen=True)
class NewMerchant:
    id: int
    name: str
    api_key: str
    bank_account_ids: list[int]
    owner_id: int | None = None


def merchant_create(
    *,
    name: str,
    bank_accounts: list[dict],
    is_demo: bool = False,
    api_key: str | None = None,
    owner_email: str | None = None,
    owner_password: str | None = None,
    now: datetime | None = None,
) -> NewMerchant:
    """Create a merchant with its bank accounts (verified) and an API key (and its owner, given an email).

    The plain key is returned once and stored only as its hash. Pass
    ``api_key`` to register a key derived elsewhere (demo merchants).
    """
    now = now or timezone.now()
    if owner_email is not None:
        owner_email = _email_checked(owner_email)
        if owner_password is not None:
            _password_checked(owner_password)
    with transaction.atomic(durable=True):
        merchant = Merchant.objects.create(name=name, is_demo=is_demo, created_at=now)
        accounts = BankAccount.objects.bulk_create(
            [_verified_account(merchant=merchant, now=now, **account) for account in bank_accounts]
        )
        key = api_key_issue(merchant_id=merchant.id, key=api_key, name="Default", now=now)
        owner = None
        if owner_email is not None:
            owner = _user_insert(merchant_id=merchant.id, email=owner_email, role=Role.OWNER, password=owner_password)
    return NewMerchant(
        id=merchant.id,
        name=name,
        api_key=key,
        bank_account_ids=[a.id for a in accounts],
        owner_id=owner.id if owner else None,
    )


def _verified_account(*, merchant: Merchant, holder_name: str, ifsc: str, account_number: str, now) -> BankAccount:
    """An account the bank already knows (demo and operator-made merchants): verified from the start."""
    return BankAccount(
        merchant=merchant,
        holder_name=holder_name,
        ifsc=ifsc,
        account_number_encrypted=account_number_encrypt(account_number),
        account_last4=account_number[-4:],
        status=BankAccount.Status.VERIFIED,
        registered_name=holder_name.upper(),
        created_at=now,
        decided_at=now,
    )


def api_key_issue(*, merchant_id: int, key: str | None = None, name: str = "", now: datetime | None = None) -> str:
    """Register an API key for the merchant (a new random one unless given); returns it in clear."""
    key = key or _new_secret()
    ApiKey.objects.get_or_create(
        key_hash=api_key_hash(key),
        defaults={
            "merchant_id": merchant_id,
            "name": name,
            "prefix": key[:API_KEY_PREFIX_LENGTH],
            "created_at": now or timezone.now(),
        },
    )
    return key


def _new_secret() -> str:
    return "sk_live_" + secrets.token_urlsafe(32)


# --- users -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewUser:
    id: int
    email: str
    merchant_id: int
    role: str
    password: str | None  # the one-time password made up for the user, when none was given


def _email_checked(email: str) -> str:
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise InvalidRequestField("That is not an email address.", field="email") from exc
    if User.objects.filter(email=email).exists():
        raise InvalidRequestField("A user with this email exists already.", field="email")
    return email


def _password_checked(password: str) -> None:
    try:
        validate_password(password)
    except ValidationError as exc:
        raise InvalidRequestField(" ".join(exc.messages), field="password") from exc


def _user_insert(*, merchant_id: int, email: str, role: str, password: str | None) -> User:
    user = User(email=email, merchant_id=merchant_id, role=role)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save()
    return user


def user_create(*, merchant_id: int, email: str, role: str, password: str | None = None) -> NewUser:
    """A user of the merchant with this role. Without ``password`` a one-time one is made up and returned."""
    if role not in Role.values:
        raise InvalidRequestField(f"role must be one of {', '.join(Role.values)}.", field="role")
    if not Merchant.objects.filter(pk=merchant_id).exists():
        raise NotFound("No such merchant.", field="merchant")
    email = _email_checked(email)
    one_time = None
    if password is None:
        password = one_time = secrets.token_urlsafe(15)
    _password_checked(password)
    with transaction.atomic(durable=True):
        user = _user_insert(merchant_id=merchant_id, email=email, role=role, password=password)
    return NewUser(id=user.id, email=email, merchant_id=merchant_id, role=role, password=one_time)


def demo_owner_ensure(*, merchant_id: int) -> User:
    """The owner of a demo merchant (made on first need): who POST /auth/demo-login signs in as.

    It has no usable password: only demo mode's one-click sign-in opens it.
    """
    user = User.objects.filter(merchant_id=merchant_id, role=Role.OWNER).order_by("id").first()
    if user is not None:
        return user
    email = f"owner+{merchant_id}@demo.payouts.invalid"
    user, _ = User.objects.get_or_create(
        email=email, defaults={"merchant_id": merchant_id, "role": Role.OWNER, "password": make_password(None)}
    )
    return user


# --- security events and API keys ------------------------------------------------------------


def security_event_record(
    *,
    kind: str,
    merchant_id: int | None,
    user_id: int | None = None,
    email: str | None = None,
    api_key_id: int | None = None,
    client_address: str | None = None,
    description: str = "",
) -> SecurityEvent:
    """Record one security event (CONTRACT §7), in the caller's transaction if there is one.

    For a change to money or accounts, call it inside the transaction that
    makes the change, so the record and the change commit together.
    """
    return SecurityEvent.objects.create(
        merchant_id=merchant_id,
        kind=kind,
        user_id=user_id,
        email=(email or "")[:254] or None,
        api_key_id=api_key_id,
        client_address=(client_address or "")[:64] or None,
        description=description[:500],
        created_at=timezone.now(),
    )


@dataclass(frozen=True)
class NewApiKey:
    key: ApiKey
    secret: str


def api_key_create(*, merchant_id: int, name: str, user_id: int | None, client_address: str | None) -> NewApiKey:
    """A new API key for the merchant; its secret is returned here only, and stored as its hash."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidRequestField("name must be 1 to 100 characters.", field="name")
    secret = _new_secret()
    with transaction.atomic(durable=True):
        key = ApiKey.objects.create(
            merchant_id=merchant_id,
            name=name,
            key_hash=api_key_hash(secret),
            prefix=secret[:API_KEY_PREFIX_LENGTH],
            created_at=timezone.now(),
        )
        security_event_record(
            kind=SecurityEvent.Kind.API_KEY_CREATED,
            merchant_id=merchant_id,
            user_id=user_id,
            api_key_id=key.id,
            client_address=client_address,
            description=f"API key {name!r} ({key.prefix}…) created",
        )
    return NewApiKey(key=key, secret=secret)


def api_key_revoke(
    *, merchant_id: int, api_key_id: int, user_id: int | None, client_address: str | None, by_staff: bool = False
) -> ApiKey:
    """Revoke the merchant's key at once (the next request with it is refused). Revoking twice changes nothing.

    ``by_staff``: the operators revoked it (the admin console); the merchant's security event says so.
    """
    with transaction.atomic(durable=True):
        key = ApiKey.objects.select_for_update().filter(merchant_id=merchant_id, pk=api_key_id).first()
        if key is None:
            raise NotFound("No such API key.")
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            security_event_record(
                kind=SecurityEvent.Kind.API_KEY_REVOKED,
                merchant_id=merchant_id,
                user_id=user_id,
                api_key_id=key.id,
                client_address=client_address,
                description=f"API key {key.name!r} ({key.prefix}…) revoked" + (" by staff" if by_staff else ""),
            )
    return key


def api_key_mark_used(*, api_key_id: int) -> None:
    """Note that the key was used: at most one write a minute per key, in its own statement.

    Called after authentication, outside any money transaction and never
    under a merchant's lock.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE merchants_apikey SET last_used_at = now() WHERE id = %s"
            " AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
            [api_key_id],
        )


# --- money in -----------------------------------------------------------------------------

DESCRIPTION_MAX_LENGTH = 200
_REFERENCE = re.compile(PAYMENT_REFERENCE_PATTERN)
InvalidReference = InvalidField.of(
    "reference", "reference must be 1 to 64 characters of A-Z, a-z, 0-9 and _ - . : / (the payment's own reference)."
)
InvalidDescription = InvalidField.of(
    "description", f"description must be text of 1 to {DESCRIPTION_MAX_LENGTH} characters, without NUL (or left out)."
)


@dataclass(frozen=True)
class Credit:
    """A customer payment's credit, and whether this call made it (False: the reference was known)."""

    payment: PaymentCredit
    created: bool


def payment_credit(
    *,
    merchant_id: int,
    amount_paise: int,
    reference: str,
    description: str | None = None,
    user_id: int | None = None,
    client_address: str | None = None,
    by_staff: bool = False,
    now: datetime | None = None,
) -> Credit:
    """Credit a customer payment to the merchant, once per ``reference``.

    In one transaction under ``merchant_lock``: the ``payment`` ledger entry,
    the ``PaymentCredit`` row naming it, the ``payment.credited`` event and the
    ``payment_credited`` security event. A known reference with the same
    merchant and amount returns the first credit and changes nothing (the
    description is not compared: it is a label, not the payment); with another
    merchant or amount it is ``PaymentReferenceConflict`` and changes nothing.

    Two calls with one reference at once credit once: for one merchant the
    lock orders them and the second finds the first's row; across merchants
    the unique index refuses the second insert, which is then answered as a
    known reference.
    """
    if type(amount_paise) is not int or not 0 < amount_paise <= MAX_AMOUNT_PAISE:
        raise InvalidAmount()
    if type(reference) is not str or not _REFERENCE.fullmatch(reference):
        raise InvalidReference()
    if description is None:
        description = f"Customer payment {reference}"
    elif (
        type(description) is not str
        or not 0 < len(description) <= DESCRIPTION_MAX_LENGTH
        or "\x00" in description
        or not _encodable(description)
    ):
        raise InvalidDescription()
    if (
        type(merchant_id) is not int
        or not 0 < merchant_id <= MAX_AMOUNT_PAISE
        or not Merchant.objects.filter(pk=merchant_id).exists()
    ):
        raise InvalidMerchant()
    known = _credit_known(merchant_id=merchant_id, amount_paise=amount_paise, reference=reference)
    if known is not None:  # a retry: answered without the lock
        return known
    now = now or timezone.now()
    try:
        with transaction.atomic(durable=True):
            merchant = merchant_lock(merchant_id=merchant_id)
            known = _credit_known(merchant_id=merchant_id, amount_paise=amount_paise, reference=reference)
            if known is not None:  # the same payment, credited while we waited for the lock
                return known
            if merchant.available_paise > MAX_AMOUNT_PAISE - amount_paise:
                raise BalanceLimitExceeded()
            entry = ledger_payment_credit(
                merchant_id=merchant_id, amount_paise=amount_paise, description=description, now=now
            )
            payment = PaymentCredit.objects.create(
                merchant_id=merchant_id,
                reference=reference,
                amount_paise=amount_paise,
                description=description,
                ledger_entry=entry,
                created_at=now,
            )
            event_record(merchant_id=merchant_id, type="payment.credited", data=_ledger_entry_data(entry), now=now)
            security_event_record(
                kind=SecurityEvent.Kind.PAYMENT_CREDITED,
                merchant_id=merchant_id,
                user_id=user_id,
                client_address=client_address,
                description=f"Customer payment {reference} of {amount_paise} paise credited"
                + (" by staff" if by_staff else ""),
            )
    except IntegrityError:
        # Another merchant's credit took the reference first (the unique index waited for it).
        known = _credit_known(merchant_id=merchant_id, amount_paise=amount_paise, reference=reference)
        if known is None:
            raise
        return known
    return Credit(payment=payment, created=True)


def _credit_known(*, merchant_id: int, amount_paise: int, reference: str) -> Credit | None:
    """The credit already made under ``reference`` (None if none); a conflict if it is another payment."""
    payment = PaymentCredit.objects.filter(reference=reference).first()
    if payment is None:
        return None
    if payment.merchant_id != merchant_id or payment.amount_paise != amount_paise:
        raise PaymentReferenceConflict()
    return Credit(payment=payment, created=False)


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def payment_reference_new(prefix: str) -> str:
    """A reference for a credit that has none of its own (opening credits, the demo's payments)."""
    return f"{prefix}_{uuid.uuid4().hex}"


def merchant_credit(
    *, merchant_id: int, amount_paise: int, description: str, reference: str | None = None, now: datetime | None = None
) -> int:
    """Record a customer payment to the merchant (``payment_credit``); returns the ledger entry id.

    Without ``reference`` the payment gets a new one (``credit_<hex>``): for
    credits that are not a collections system's payment (seed, opening credits).
    """
    credit = payment_credit(
        merchant_id=merchant_id,
        amount_paise=amount_paise,
        reference=reference or payment_reference_new("credit"),
        description=description,
        now=now,
    )
    return credit.payment.ledger_entry_id


def payment_credit_data(payment: PaymentCredit) -> dict:
    """The credit as the API shows it (``payouts.representations.PAYMENT_CREDIT``; a test holds them equal)."""
    return {
        "id": payment.id,
        "merchant_id": payment.merchant_id,
        "amount_paise": payment.amount_paise,
        "reference": payment.reference,
        "description": payment.description,
        "ledger_entry_id": payment.ledger_entry_id,
        "created_at": payment.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


def _ledger_entry_data(entry) -> dict:
    """The ledger entry as GET /ledger shows it (``payouts.representations.LEDGER_ENTRY``; a test holds them equal)."""
    return {
        "id": entry.id,
        "kind": entry.kind,
        "amount_paise": entry.amount_paise,
        "description": entry.description,
        "payout_id": entry.payout_id,
        "created_at": entry.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
