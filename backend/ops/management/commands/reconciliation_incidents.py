"""List the reconciliation incidents: answers from the bank that contradict the engine's books."""

from django.core.management.base import BaseCommand

from payouts.models import ReconciliationIncident


class Command(BaseCommand):
    help = "List reconciliation incidents, newest first, and how many there are in all."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=100, help="how many to list (default 100)")
        parser.add_argument("--json", action="store_true", help="one JSON object per line")

    def handle(self, *args, limit: int, json: bool, **options):
        import json as jsonlib

        incidents = ReconciliationIncident.objects.order_by("-id")
        total = incidents.count()
        for incident in incidents[:limit]:
            row = {
                "id": incident.id,
                "created_at": incident.created_at.isoformat(),
                "kind": incident.kind,
                "reference": incident.reference,
                "payout_id": incident.payout_id,
                "merchant_id": incident.merchant_id,
                "bank_state": incident.bank_state,
                "bank_amount_paise": incident.bank_amount_paise,
                "detail": incident.detail,
            }
            if json:
                self.stdout.write(jsonlib.dumps(row))
            else:
                self.stdout.write(
                    f"#{incident.id} {row['created_at']} {incident.kind} {incident.reference}"
                    f" payout={incident.payout_id} merchant={incident.merchant_id}: {incident.detail}"
                )
        if not json:
            self.stdout.write(f"{total} reconciliation incident(s)")
