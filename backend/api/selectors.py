"""Every read the views make, gathered from the apps that own them. Nothing here locks."""

from ledger.selectors import ledger_entries
from merchants.selectors import (
    balance_get,
    bank_account_get,
    bank_account_status,
    bank_accounts,
    demo_merchants,
    merchant_by_api_key,
)
from payouts.selectors import payout_events, payout_get, payouts

__all__ = [
    "balance_get",
    "bank_account_get",
    "bank_account_status",
    "bank_accounts",
    "demo_merchants",
    "ledger_entries",
    "merchant_by_api_key",
    "payout_events",
    "payout_get",
    "payouts",
]
