"""examples/webhook_receiver.py works: it verifies, answers 2xx, and handles a repeat once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import wait_until
from merchants import services as merchants
from webhooks import services
from webhooks.models import DeliveryAttempt, Event

from .conftest import deliver_due, free_port

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "webhook_receiver.py"


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_the_example_receiver_verifies_and_dedupes(make_merchant):
    merchant = make_merchant()
    port = free_port()
    created = services.endpoint_create(merchant_id=merchant.id, url=f"http://127.0.0.1:{port}/webhooks")
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE), str(port)],
        env={**os.environ, "WEBHOOK_SECRET": created.secret},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_until(lambda: _listening(port), timeout=10)
        merchants.merchant_credit(merchant_id=merchant.id, amount_paise=4_200, description="order 7")
        deliver_due()
        services.event_redeliver(merchant_id=merchant.id, event_public_id=Event.objects.get().public_id)
        deliver_due()
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]

    assert list(DeliveryAttempt.objects.order_by("id").values_list("status_code", flat=True)) == [204, 204]
    assert output.count("payment.credited") == 1  # the repeat was recognised by its webhook-id
    assert "+4200 paise (order 7)" in output
