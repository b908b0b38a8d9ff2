"""The operators' console: what staff see at /admin/ and the few things they may do there.

* Money rows (ledger entries, payouts, payout events, events, webhook
  deliveries and attempts, reconciliation incidents, security events) are
  read-only: listed, searched, filtered and viewed; no add, change or delete
  permission, even for a superuser. The database refuses those writes too.
* Merchants, users, API keys, bank accounts and webhook endpoints are listed
  and viewed; nothing is edited in a form, since every change to them goes
  through a service. What operators do is an *action*, and each action calls
  the same service the API calls, then records itself: a ``LogEntry`` (the
  admin's history) and, where the merchant should see it, a security event.
  Actions are for superusers; other staff only look.
* Two lists for the people on call: reconciliation incidents (newest first)
  and payouts awaiting the bank's cancellation, each with how long it has
  waited (by the database's clock).

The services the actions call go through one small function each
(``_admin_credit``, ``_admin_bank_account_deactivate``), so a new service is
wired in at one place.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.db.models.functions import Now
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from common.errors import PayoutError
from ledger.models import LedgerEntry
from ledger.postings import MAX_AMOUNT_PAISE
from merchants import services as merchants
from merchants.accounts import bank_account_deactivate
from merchants.models import ApiKey, BankAccount, Merchant, SecurityEvent, User
from ops.models import PayoutAwaitingCancellation
from payouts.models import Payout, PayoutEvent, ReconciliationIncident
from webhooks import services as webhooks
from webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event


class ActionUnavailable(PayoutError):
    code = "not_available"
    message = "This action is not available."


# --- the services behind the actions: one function each -----------------------------------------


def _admin_credit(*, merchant_id: int, amount_paise: int, reference: str, description: str) -> merchants.Credit:
    """Credit a customer payment to the merchant through the API's service, once per reference.

    ``merchants.services.payment_credit``: the ``payment`` entry, its credit row, the
    ``payment.credited`` event and the merchant's security event ("… by staff"), under the
    merchant's lock. The merchant is not shown the operator's account (no user on the event).
    """
    return merchants.payment_credit(
        merchant_id=merchant_id, amount_paise=amount_paise, reference=reference, description=description, by_staff=True
    )


def _admin_bank_account_deactivate(*, merchant_id: int, bank_account_id: int) -> None:
    """Deactivate the merchant's bank account through the service the API's DELETE uses."""
    bank_account_deactivate(merchant_id=merchant_id, bank_account_id=bank_account_id, user_id=None, client_address=None)


# --- shared shapes -------------------------------------------------------------------------------


def _may_operate(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


def _waited(duration: timedelta | None) -> str:
    if duration is None:
        return "-"
    seconds = max(0, int(duration.total_seconds()))
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Seen, searched and filtered; never added, changed or deleted here (the change view is read-only)."""

    list_per_page = 50
    show_full_result_count = False  # no count(*) over a large table on every page

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)  # the site has checked the rest

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_operate_permission(self, request) -> bool:
        return _may_operate(request)


# Groups of permissions are not how this console is run: staff look, superusers act.
admin.site.unregister(Group)


# --- money rows ----------------------------------------------------------------------------------


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "merchant", "kind", "amount_paise", "payout", "description", "created_at"]
    list_filter = ["kind"]
    search_fields = ["=id", "=merchant__id", "merchant__name", "description"]
    list_select_related = ["merchant"]
    raw_id_fields = ["merchant", "payout"]
    ordering = ["-id"]


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "merchant",
        "amount_paise",
        "status",
        "attempts",
        "reference_id",
        "failure_code",
        "created_at",
    ]
    list_filter = ["status", "failure_code"]
    search_fields = ["=id", "=merchant__id", "=reference", "=reference_id", "=bank_reference"]
    list_select_related = ["merchant"]
    raw_id_fields = ["merchant", "bank_account"]
    ordering = ["-id"]


@admin.register(PayoutAwaitingCancellation)
class PayoutAwaitingCancellationAdmin(ReadOnlyAdmin):
    """Processing payouts whose attempts are exhausted: their funds stay held until the bank confirms."""

    list_display = [
        "id",
        "merchant",
        "amount_paise",
        "attempts",
        "cancel_requested_at",
        "waited",
        "cancel_requests",
        "next_cancel_at",
    ]
    search_fields = ["=id", "=merchant__id", "=reference", "=reference_id"]
    list_select_related = ["merchant"]
    raw_id_fields = ["merchant", "bank_account"]
    ordering = ["cancel_requested_at", "id"]  # the longest wait first

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(waited_for=Now() - F("cancel_requested_at"))

    @admin.display(description="waited", ordering="waited_for")
    def waited(self, obj) -> str:
        return _waited(obj.waited_for)


@admin.register(PayoutEvent)
class PayoutEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "payout", "merchant", "from_status", "to_status", "attempt", "reason", "created_at"]
    list_filter = ["to_status"]
    search_fields = ["=payout__id", "=merchant__id", "reason"]
    raw_id_fields = ["merchant", "payout"]
    ordering = ["-id"]


@admin.register(ReconciliationIncident)
class ReconciliationIncidentAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "reference",
        "payout",
        "merchant",
        "bank_state",
        "bank_amount_paise",
        "created_at",
        "age",
    ]
    list_filter = ["kind"]
    search_fields = ["=reference", "=payout__id", "=merchant__id", "detail"]
    raw_id_fields = ["merchant", "payout"]
    ordering = ["-id"]  # newest first

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(age_for=Now() - F("created_at"))

    @admin.display(description="age", ordering="age_for")
    def age(self, obj) -> str:
        return _waited(obj.age_for)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "merchant", "type", "created_at", "dispatched"]
    list_filter = ["type", "dispatched"]
    search_fields = ["=public_id", "=merchant__id"]
    raw_id_fields = ["merchant"]
    ordering = ["-id"]
    actions = ["redeliver"]

    @admin.action(
        description="Redeliver the selected events (to every enabled endpoint that wants them)", permissions=["operate"]
    )
    def redeliver(self, request, queryset):
        for event in queryset:
            try:
                ids = webhooks.event_redeliver(merchant_id=event.merchant_id, event_public_id=event.public_id)
            except PayoutError as error:
                self.message_user(request, f"{event.public_id}: {error.message}", messages.ERROR)
                continue
            self.log_change(request, event, f"Redelivered by staff to {len(ids)} endpoint(s): deliveries {ids}")
            self.message_user(request, f"{event.public_id}: redelivered to {len(ids)} endpoint(s).")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "event", "endpoint", "merchant", "status", "attempts", "next_attempt_at", "updated_at"]
    list_filter = ["status"]
    search_fields = ["=event__public_id", "=endpoint__id", "=merchant__id"]
    raw_id_fields = ["merchant", "endpoint", "event"]
    ordering = ["-id"]


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdmin):
    list_display = ["id", "event_public_id", "endpoint", "attempt", "status_code", "error", "duration_ms", "created_at"]
    search_fields = ["=event_public_id", "=endpoint__id", "=merchant__id"]
    raw_id_fields = ["merchant", "endpoint", "delivery"]
    ordering = ["-id"]


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "merchant", "kind", "user", "email", "api_key", "client_address", "description", "created_at"]
    list_filter = ["kind"]
    search_fields = ["=merchant__id", "email", "description"]
    raw_id_fields = ["merchant", "user", "api_key"]
    ordering = ["-id"]


# --- accounts: listed, changed only by actions ----------------------------------------------------


class CreditForm(forms.Form):
    amount_paise = forms.IntegerField(min_value=1, max_value=MAX_AMOUNT_PAISE, help_text="Integer paise.")
    reference = forms.CharField(
        max_length=64,
        help_text="The payment's reference at the collections side.",
        widget=forms.TextInput(attrs={"size": 40}),
    )
    description = forms.CharField(max_length=255, widget=forms.TextInput(attrs={"size": 60}))


@admin.register(Merchant)
class MerchantAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "is_demo", "available_paise", "held_paise", "created_at", "credit_link"]
    list_filter = ["is_demo"]
    search_fields = ["=id", "name"]
    ordering = ["id"]
    fields = ["name", "is_demo", "available_paise", "held_paise", "created_at", "credit_link"]
    readonly_fields = ["credit_link"]

    def get_urls(self):
        credit = path(
            "<int:merchant_id>/credit/",
            self.admin_site.admin_view(self.credit_view),
            name="merchants_merchant_credit",
        )
        return [credit, *super().get_urls()]

    @admin.display(description="credit")
    def credit_link(self, obj) -> str:
        return format_html('<a href="{}">Credit…</a>', reverse("admin:merchants_merchant_credit", args=[obj.pk]))

    def credit_view(self, request, merchant_id: int):
        """A form: amount in paise, reference, description; then the credit, recorded."""
        merchant = get_object_or_404(Merchant, pk=merchant_id)
        if not self.has_operate_permission(request):
            raise PermissionDenied
        form = CreditForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                credit = _admin_credit(
                    merchant_id=merchant.pk,
                    amount_paise=data["amount_paise"],
                    reference=data["reference"],
                    description=data["description"],
                )
            except PayoutError as error:
                form.add_error(None, error.message)
            else:
                entry_id = credit.payment.ledger_entry_id
                if credit.created:
                    done = f"Credited {data['amount_paise']} paise by staff, reference {data['reference']!r}"
                    self.message_user(request, f"Credited {data['amount_paise']} paise: ledger entry {entry_id}.")
                else:
                    done = f"Reference {data['reference']!r} was already credited, nothing changed"
                    self.message_user(
                        request,
                        f"Reference {data['reference']!r} was already credited (ledger entry {entry_id}):"
                        " nothing changed.",
                        messages.WARNING,
                    )
                self.log_change(request, merchant, f"{done}: ledger entry {entry_id}")
                return HttpResponseRedirect(reverse("admin:merchants_merchant_change", args=[merchant.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Credit {merchant}",
            "merchant": merchant,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/ops/credit.html", context)


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ["id", "email", "merchant", "role", "is_staff", "is_superuser", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "role"]
    search_fields = ["email", "=merchant__id"]
    exclude = ["password"]
    raw_id_fields = ["merchant"]
    ordering = ["id"]


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ["id", "merchant", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    search_fields = ["=prefix", "=merchant__id", "name"]
    exclude = ["key_hash"]
    raw_id_fields = ["merchant"]
    ordering = ["-id"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected API keys", permissions=["operate"])
    def revoke(self, request, queryset):
        for key in queryset:
            if key.revoked_at is not None:
                continue
            merchants.api_key_revoke(
                merchant_id=key.merchant_id, api_key_id=key.pk, user_id=None, client_address=None, by_staff=True
            )
            self.log_change(request, key, f"Revoked by staff: API key {key.name!r} ({key.prefix}…)")
            self.message_user(request, f"API key {key.prefix}… revoked.")


@admin.register(BankAccount)
class BankAccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "merchant", "holder_name", "ifsc", "account_last4", "status", "registered_name", "created_at"]
    list_filter = ["status"]
    search_fields = ["=id", "=merchant__id", "holder_name", "=account_last4"]
    exclude = ["account_number_encrypted"]  # a token: nothing an operator can read, nothing to copy
    raw_id_fields = ["merchant"]
    ordering = ["-id"]
    actions = ["deactivate"]

    @admin.action(description="Deactivate the selected bank accounts", permissions=["operate"])
    def deactivate(self, request, queryset):
        for account in queryset:
            try:
                _admin_bank_account_deactivate(merchant_id=account.merchant_id, bank_account_id=account.pk)
            except PayoutError as error:
                self.message_user(request, f"Bank account {account.pk}: {error.message}", messages.ERROR)
                continue
            self.log_change(request, account, "Deactivated by staff")
            self.message_user(request, f"Bank account {account.pk} deactivated.")


@admin.register(Endpoint)
class EndpointAdmin(ReadOnlyAdmin):
    list_display = ["id", "merchant", "url", "status", "disabled_reason", "failing_since", "created_at", "deleted_at"]
    list_filter = ["status"]
    search_fields = ["=id", "=merchant__id", "url"]
    exclude = ["secret_sealed", "previous_secret_sealed"]
    raw_id_fields = ["merchant"]
    ordering = ["-id"]
    actions = ["disable"]

    @admin.action(description="Disable the selected webhook endpoints", permissions=["operate"])
    def disable(self, request, queryset):
        for endpoint in queryset.filter(deleted_at__isnull=True):
            if endpoint.status == Endpoint.Status.DISABLED:
                continue
            webhooks.endpoint_update(
                merchant_id=endpoint.merchant_id,
                endpoint_id=endpoint.pk,
                changes={"status": Endpoint.Status.DISABLED},
                disabled_by="staff",
            )
            self.log_change(request, endpoint, f"Disabled by staff: {endpoint.url}")
            self.message_user(request, f"Webhook endpoint {endpoint.pk} disabled.")
