"""Asking the bank about a new bank account (a penny-drop check), and applying its answer.

The question is claimed in its own statement (one worker at a time; a lease
until the answer is applied), asked with no transaction open and no lock
held, and the answer applied in its own transaction
(``merchants.accounts.bank_account_decide``). No answer is never a
rejection: the account stays pending and is asked again after a backoff;
the sweep asks about any whose task was lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection

from bank import gateway as bank
from common import metrics
from merchants import accounts
from merchants.account_numbers import account_number_decrypt
from merchants.models import BankAccount

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AskAgain:
    at: datetime


def bank_account_verify(*, bank_account_id: int, gateway: bank.Gateway | None = None) -> AskAgain | None:
    """Ask the bank about the pending account and apply its answer. Returns when to ask again, if ever.

    Does nothing if the account is no longer pending or another worker is asking.
    """
    assert not connection.in_atomic_block, "the bank is asked outside any transaction"
    gateway = gateway or bank.default_gateway()
    request = accounts.bank_account_verification_claim(
        bank_account_id=bank_account_id, lease_seconds=settings.PAYOUT_PROCESSING_TIMEOUT_SECONDS
    )
    if request is None:
        return None
    account = BankAccount.objects.only("ifsc", "account_number_encrypted", "holder_name").get(pk=bank_account_id)
    with metrics.BankTimer("verify") as timer:
        answer = gateway.verify_account(
            ifsc=account.ifsc,
            account_number=account_number_decrypt(account.account_number_encrypted),
            holder_name=account.holder_name,
        )
        timer.outcome = answer.outcome
    if answer.outcome in (bank.VERIFIED, bank.REJECTED):
        accounts.bank_account_decide(
            bank_account_id=bank_account_id,
            verified=answer.outcome == bank.VERIFIED,
            registered_name=answer.registered_name,
            rejection_reason=answer.reason,
        )
        return None
    at = accounts.bank_account_verification_later(
        bank_account_id=bank_account_id, request=request, backoff_seconds=settings.PAYOUT_RETRY_BACKOFF_SECONDS
    )
    logger.info(
        "bank account %s: no answer from the bank to request %s; asking again at %s", bank_account_id, request, at
    )
    return AskAgain(at) if at is not None else None
