"""Anticipated failures, each with the stable code clients branch on.

The API turns any ``PayoutError`` into ``{"error": {"code", "message",
"field"}}`` with its HTTP status; anything else is a bug and answers 500.
"""

from __future__ import annotations


class PayoutError(Exception):
    status: int = 400
    code: str = "bad_request"
    field: str | None = None
    message: str = "The request is invalid."

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or self.message
        if field is not None:
            self.field = field
        super().__init__(self.message)

    def as_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class InvalidAmount(PayoutError):
    code = "invalid_amount"
    field = "amount_paise"
    message = "amount_paise must be a positive integer number of paise, at most 9223372036854775807."


class InvalidBankAccount(PayoutError):
    code = "invalid_bank_account"
    field = "bank_account_id"
    message = "bank_account_id must be the id of one of your bank accounts."


class InvalidIdempotencyKey(PayoutError):
    code = "invalid_idempotency_key"
    field = "Idempotency-Key"
    message = "The Idempotency-Key header must be a UUID, for example 2b1f0a9e-3c4d-4e5f-8a9b-0c1d2e3f4a5b."


class InvalidRequestBody(PayoutError):
    code = "invalid_body"
    message = "The request body must be a JSON object."


class InvalidField(PayoutError):
    """A value the request may carry, refused; ``field`` names it (``InvalidField.of`` makes one per field)."""

    code = "invalid_field"

    @classmethod
    def of(cls, field: str, message: str) -> type[InvalidField]:
        return type(f"Invalid_{field}", (cls,), {"field": field, "message": message})


class InvalidFilter(PayoutError):
    """A list or export filter (a query parameter) whose value is refused; ``field`` names the parameter."""

    code = "invalid_filter"
    message = "A filter's value is not valid."


class ReferenceIdInUse(PayoutError):
    status = 409
    code = "reference_id_in_use"
    field = "reference_id"
    message = "This reference_id is already used by another of your payouts."


class InsufficientFunds(PayoutError):
    status = 422
    code = "insufficient_funds"
    field = "amount_paise"
    message = "The available balance is lower than the amount requested."


class IdempotencyKeyReused(PayoutError):
    status = 422
    code = "idempotency_key_reused"
    field = "Idempotency-Key"
    message = "This Idempotency-Key was already used with a different request body."


class IllegalTransition(PayoutError):
    """A state change the payout state machine does not allow (a bug if it reaches a client)."""

    status = 409
    code = "illegal_transition"


class InvalidRequestField(PayoutError):
    """A field of an account request (sign-in, keys, users) that is missing or not accepted."""

    code = "invalid_request"
    message = "A field of the request is not valid."


class NotFound(PayoutError):
    status = 404
    code = "not_found"
    message = "Not found."


class InvalidCredentials(PayoutError):
    status = 401
    code = "invalid_credentials"
    message = "The email or the password is not right."


class TooManyAttempts(PayoutError):
    status = 429
    code = "too_many_attempts"
    message = "Too many failed sign-ins: wait a few minutes before trying again."

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed sign-ins: try again in {retry_after} seconds.")
        self.retry_after = retry_after


class Forbidden(PayoutError):
    status = 403
    code = "forbidden"
    message = "Your role does not allow this."


class InvalidMerchant(PayoutError):
    code = "invalid_merchant"
    field = "merchant_id"
    message = "merchant_id must be the id of an existing merchant."


class PaymentReferenceConflict(PayoutError):
    """A customer payment's reference already credited another merchant or another amount."""

    status = 409
    code = "payment_reference_conflict"
    field = "reference"
    message = "This reference was already credited with another merchant or amount; nothing was changed."


class BalanceLimitExceeded(PayoutError):
    """A credit that would take the available balance beyond what a 64-bit column holds."""

    status = 422
    code = "balance_limit_exceeded"
    field = "amount_paise"
    message = "This credit would take the available balance beyond 9223372036854775807 paise."


class InvalidBankAccountDetails(PayoutError):
    """A field of a new bank account (holder_name, ifsc, account_number) that is missing or not accepted."""

    code = "invalid_bank_account_details"
    message = "A detail of the bank account is not valid."
