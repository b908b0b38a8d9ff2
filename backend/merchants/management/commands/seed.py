"""Three demo merchants with bank accounts and a customer-payment history.

Each demo merchant has an owner user (no usable password: demo mode's
one-click sign-in, POST /auth/demo-login, signs in as it).

Idempotent: a merchant that exists already (by name, as a demo merchant) is
left as it is; only its demo API key is (re)registered, so the key shown by
/api/v1/demo/merchants works after SECRET_KEY changes, and its owner made if missing.
"""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection
from django.utils import timezone

from merchants import services
from merchants.keys import demo_api_key
from merchants.models import Merchant

SEED_LOCK = 7_250_001  # pg advisory lock id

DEMO_MERCHANTS: list[dict[str, Any]] = [
    {
        "name": "Kavya Raman Design Studio",
        "bank_accounts": [
            {"holder_name": "Kavya Raman", "ifsc": "HDFC0001234", "account_number": "50100234567812"},
            {"holder_name": "Kavya Raman Design Studio", "ifsc": "ICIC0000456", "account_number": "000405012345"},
        ],
        "payments": [
            ("Northwind Traders (USD 1,200.00)", 9_984_000),
            ("Fabrikam GmbH (EUR 850.00)", 7_650_000),
            ("Northwind Traders (USD 640.00)", 5_324_800),
            ("Tailspin Toys (USD 300.00)", 2_496_000),
            ("Contoso Ltd (GBP 410.00)", 4_305_000),
        ],
    },
    {
        "name": "Arjun Mehta Freelance Dev",
        "bank_accounts": [
            {"holder_name": "Arjun Mehta", "ifsc": "SBIN0005678", "account_number": "31245678901"},
        ],
        "payments": [
            ("Adventure Works (USD 2,500.00)", 20_800_000),
            ("Wide World Importers (USD 180.50)", 1_501_760),
            ("Adventure Works (USD 2,500.00)", 20_800_000),
            ("Litware Inc (CAD 900.00)", 5_490_000),
        ],
    },
    {
        "name": "Chai & Code Agency LLP",
        "bank_accounts": [
            {"holder_name": "Chai and Code Agency LLP", "ifsc": "UTIB0000789", "account_number": "917020045678123"},
            {"holder_name": "Chai and Code Agency LLP", "ifsc": "KKBK0000321", "account_number": "4711223344"},
        ],
        "payments": [
            ("Proseware Inc (USD 4,000.00)", 33_280_000),
            ("Blue Yonder Airlines (USD 1,150.25)", 9_570_080),
            ("Margie's Travel (AUD 2,200.00)", 12_100_000),
            ("Proseware Inc (USD 4,000.00)", 33_280_000),
            ("Woodgrove Bank (SGD 600.00)", 3_720_000),
            ("Coho Winery (USD 75.99)", 632_236),
        ],
    },
]


class Command(BaseCommand):
    help = "Create the three demo merchants (idempotent)."

    def handle(self, *args, **options):
        # Two containers booting at once must not both create the merchants.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [SEED_LOCK])
            try:
                self._seed()
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [SEED_LOCK])

    def _seed(self):
        now = timezone.now()
        for spec in DEMO_MERCHANTS:
            existing = Merchant.objects.filter(is_demo=True, name=spec["name"]).first()
            if existing is not None:
                services.api_key_issue(merchant_id=existing.id, key=demo_api_key(merchant_id=existing.id))
                services.demo_owner_ensure(merchant_id=existing.id)
                self.stdout.write(f"exists   #{existing.id} {existing.name}")
                continue
            start = now - timedelta(days=7 * len(spec["payments"]))
            created = services.merchant_create(
                name=spec["name"], bank_accounts=spec["bank_accounts"], is_demo=True, now=start
            )
            services.api_key_issue(
                merchant_id=created.id, key=demo_api_key(merchant_id=created.id), name="Demo", now=start
            )
            services.demo_owner_ensure(merchant_id=created.id)
            for week, (payer, amount) in enumerate(spec["payments"], start=1):
                services.merchant_credit(
                    merchant_id=created.id,
                    amount_paise=amount,
                    description=f"Payment from {payer}",
                    now=start + timedelta(days=7 * week - 3),
                )
            self.stdout.write(f"created  #{created.id} {created.name}")
