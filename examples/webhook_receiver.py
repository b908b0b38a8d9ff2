"""A webhook receiver for the payout engine, on the standard library and `standardwebhooks`.

    pip install standardwebhooks
    WEBHOOK_SECRET=whsec_... python examples/webhook_receiver.py 8088

Then add http://localhost:8088/webhooks as an endpoint (make run allows http
and localhost). It verifies every delivery, answers 2xx at once, ignores a
webhook-id it has already handled (deliveries come at least once), and keeps
for each payout only the newest state by its updated_at (deliveries may
arrive out of order). Set WEBHOOK_SECRETS to "old,new" during a rotation.
"""

from __future__ import annotations

import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRETS = [s for s in os.environ.get("WEBHOOK_SECRETS", os.environ.get("WEBHOOK_SECRET", "")).split(",") if s]
seen_ids: set[str] = set()  # use a table with a unique key in production
payouts: dict[int, dict] = {}  # payout id -> the newest state seen
lock = threading.Lock()


def verified(body: bytes, headers: dict[str, str]) -> dict | None:
    for secret in SECRETS:
        try:
            return Webhook(secret).verify(body, headers)  # also refuses a timestamp 5 minutes off
        except WebhookVerificationError:
            continue
    return None


def handle(event: dict) -> None:
    """Your business logic. Runs once per webhook-id."""
    data = event["data"]
    if event["type"].startswith("payout."):
        current = payouts.get(data["id"])
        if current is None or data["updated_at"] >= current["updated_at"]:  # ISO 8601 UTC: compares as text
            payouts[data["id"]] = data
        print(f"{event['type']:18} payout {data['id']}: {payouts[data['id']]['status']}", flush=True)
    elif event["type"] == "payment.credited":
        print(f"{event['type']:18} +{data['amount_paise']} paise ({data['description']})", flush=True)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        event = verified(body, {k.lower(): v for k, v in self.headers.items()})
        if event is None:
            self.send_response(400)  # not from the engine (or a wrong secret): it will retry
            self.end_headers()
            return
        with lock:
            duplicate = self.headers["webhook-id"] in seen_ids
            if not duplicate:
                seen_ids.add(self.headers["webhook-id"])
                handle(event)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


if __name__ == "__main__":
    if not SECRETS:
        sys.exit("set WEBHOOK_SECRET to the endpoint's whsec_... secret")
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8088
    print(f"listening on http://localhost:{port}/webhooks", flush=True)
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()  # noqa: S104 - an example server
