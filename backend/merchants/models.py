"""Merchants, their users, API keys, bank accounts and security events.

What PostgreSQL refuses here, whatever code or session asks:

* ``Merchant.available_paise`` and ``held_paise`` are derived state kept by
  the ledger's triggers (ledger/migrations/0001_initial.py) from the ledger
  and the payouts in the same transaction; nobody writes them directly, and
  neither can go below zero (checks).
* A payment credit's reference is unique across the system, and its row is
  append-only and matches its ``payment`` ledger entry (merchant, amount):
  migration 0002's triggers.
* A bank account's IFSC and last four digits have their formats, its number
  is a Fernet token, never the number in clear (checks); its status moves
  only along pending_verification -> verified | rejected, verified |
  pending_verification -> deactivated (a trigger), and (id, merchant) is
  unique: the target of the payout's composite foreign key.

Every table of merchant data carries ``merchant_id`` so the schema can be
distributed by merchant (EXPLAINER.md, "Growth").
"""

from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


class Merchant(models.Model):
    name = models.CharField(max_length=200)
    is_demo = models.BooleanField(default=False)
    # Derived from the ledger and the payouts by database triggers; read them,
    # never write them.
    available_paise = models.BigIntegerField(default=0)
    held_paise = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(available_paise__gte=0), name="merchant_available_not_negative"),
            models.CheckConstraint(condition=Q(held_paise__gte=0), name="merchant_held_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"


class Role(models.TextChoices):
    OWNER = "owner"
    DEVELOPER = "developer"
    VIEWER = "viewer"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)  # None: an unusable password
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """Someone who signs in with an email and a password (Argon2).

    A merchant's user has its merchant and a role; the staff of the admin
    console have neither (a check keeps the two together).
    """

    email = models.EmailField(max_length=254, unique=True)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, null=True, blank=True, related_name="users")
    role = models.CharField(max_length=16, choices=Role.choices, null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(merchant__isnull=True, role__isnull=True) | Q(merchant__isnull=False, role__isnull=False),
                name="user_merchant_and_role_together",
            ),
            models.CheckConstraint(condition=Q(email=Lower("email")), name="user_email_lowercase"),
            # Staff run the admin console; a merchant's user never does, whatever a row says.
            models.CheckConstraint(
                condition=Q(is_staff=False) | Q(merchant__isnull=True), name="user_staff_has_no_merchant"
            ),
        ]

    def __str__(self) -> str:
        return self.email


class ApiKey(models.Model):
    """An API key, stored as its SHA-256: a database dump reveals no usable key."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=100, default="")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16)
    created_at = models.DateTimeField()
    # Kept to the minute: written only when the last write is older than that (merchants.selectors).
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"


class SecurityEvent(models.Model):
    """Something a merchant's owner should be able to audit: sign-ins, keys, bank accounts, credits.

    Append-only (the application role may only insert and read). ``merchant``
    is null for a failed sign-in with an email nobody has. Failed sign-ins are
    also what the sign-in throttle counts (by email and by client address).
    """

    class Kind(models.TextChoices):
        LOGIN_SUCCEEDED = "login_succeeded"
        LOGIN_FAILED = "login_failed"
        API_KEY_CREATED = "api_key_created"
        API_KEY_REVOKED = "api_key_revoked"
        BANK_ACCOUNT_ADDED = "bank_account_added"
        BANK_ACCOUNT_VERIFIED = "bank_account_verified"
        BANK_ACCOUNT_REJECTED = "bank_account_rejected"
        BANK_ACCOUNT_DEACTIVATED = "bank_account_deactivated"
        PAYMENT_CREDITED = "payment_credited"

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, null=True, blank=True, related_name="security_events"
    )
    kind = models.CharField(max_length=40, choices=Kind.choices)
    # Who: the signed-in user (or the email tried), or the API key, or neither (the system).
    user = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    email = models.CharField(max_length=254, null=True, blank=True)
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    client_address = models.CharField(max_length=64, null=True, blank=True)
    description = models.CharField(max_length=500, default="")
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["merchant", "-id"], name="security_event_merchant"),
            # The sign-in throttle: recent failures by email and by address.
            models.Index(
                fields=["email", "created_at"], name="security_event_failed_email", condition=Q(kind="login_failed")
            ),
            models.Index(
                fields=["client_address", "created_at"],
                name="security_event_failed_address",
                condition=Q(kind="login_failed"),
            ),
        ]


class BankAccount(models.Model):
    """Where a merchant's payouts go. Added by its owner, verified by the bank, never deleted.

    ``pending_verification`` -> ``verified`` (the bank's ``registered_name``)
    or ``rejected`` (``rejection_reason``); ``verified`` or
    ``pending_verification`` -> ``deactivated``. Nothing else: the trigger of
    merchants/migrations/0003 refuses any other transition, any change of
    the account's details, and any delete (payouts point at it). Payouts go
    to ``verified`` accounts only (payouts/migrations/0003 refuses the rest).

    The number is stored encrypted (``merchants.account_numbers``); the last
    four digits are kept in clear to show it.
    """

    class Status(models.TextChoices):
        PENDING_VERIFICATION = "pending_verification"
        VERIFIED = "verified"
        REJECTED = "rejected"
        DEACTIVATED = "deactivated"

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="bank_accounts")
    holder_name = models.CharField(max_length=200)
    ifsc = models.CharField(max_length=11)
    # A Fernet token (merchants.account_numbers): never the number in clear.
    account_number_encrypted = models.TextField()
    account_last4 = models.CharField(max_length=4)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING_VERIFICATION)
    registered_name = models.CharField(max_length=200, null=True, blank=True)
    rejection_reason = models.CharField(max_length=255, null=True, blank=True)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    # While pending: how many times the bank was asked, and when to ask next
    # (a lease while a worker asks; the sweep picks up what is overdue).
    verification_requests = models.PositiveIntegerField(default=0)
    next_verification_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # The target of the payout's composite foreign key (bank account, merchant).
            models.UniqueConstraint(fields=["id", "merchant"], name="bank_account_id_merchant"),
            models.CheckConstraint(condition=Q(ifsc__regex=r"^[A-Z]{4}0[A-Z0-9]{6}$"), name="bank_account_ifsc_format"),
            models.CheckConstraint(condition=Q(account_last4__regex=r"^[0-9]{4}$"), name="bank_account_last4_format"),
            # A Fernet token starts with its version byte, 0x80: "gAAAAA" in base64. A number never does.
            models.CheckConstraint(
                condition=Q(account_number_encrypted__startswith="gAAAAA"), name="bank_account_number_encrypted"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending_verification", "verified", "rejected", "deactivated"]),
                name="bank_account_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="verified") | Q(registered_name__isnull=False, decided_at__isnull=False),
                name="bank_account_verified_has_registered_name",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | Q(rejection_reason__isnull=False, decided_at__isnull=False),
                name="bank_account_rejected_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(status="deactivated", deactivated_at__isnull=False)
                | Q(~Q(status="deactivated"), deactivated_at__isnull=True),
                name="bank_account_deactivated_at_when_deactivated",
            ),
        ]
        indexes = [
            # The sweep: accounts still waiting for the bank's answer.
            models.Index(
                fields=["next_verification_at"],
                name="bank_account_pending",
                condition=Q(status="pending_verification"),
            ),
        ]


# A collections system's reference for one customer payment (CONTRACT §7, "Money in").
PAYMENT_REFERENCE_PATTERN = r"[A-Za-z0-9_.:/-]{1,64}"


class PaymentCredit(models.Model):
    """One customer payment credited to a merchant, under the reference that identifies it.

    The reference is the idempotency key of money in: unique across the
    system, so one payment credits once however often it is sent. The row is
    written in the same transaction as its ``payment`` ledger entry and never
    changed (triggers refuse UPDATE, DELETE and TRUNCATE).
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="payment_credits")
    reference = models.CharField(max_length=64, unique=True)
    amount_paise = models.BigIntegerField()
    description = models.CharField(max_length=255)
    ledger_entry = models.OneToOneField("ledger.LedgerEntry", on_delete=models.PROTECT, related_name="payment_credit")
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["merchant", "-id"], name="payment_credit_merchant")]
        constraints = [
            models.CheckConstraint(condition=Q(amount_paise__gt=0), name="payment_credit_amount_positive"),
            models.CheckConstraint(
                condition=Q(reference__regex=f"^{PAYMENT_REFERENCE_PATTERN}$"), name="payment_credit_reference_format"
            ),
        ]
