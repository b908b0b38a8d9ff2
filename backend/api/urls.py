from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from api import docs, views, views_auth, views_exports, views_payments, views_webhooks

_routes = [
    ("health", views.HealthView, "health"),
    ("health/live", views.LiveView, "health-live"),
    ("health/ready", views.ReadyView, "health-ready"),
    ("me", views.MeView, "me"),
    ("balance", views.BalanceView, "balance"),
    ("ledger", views.LedgerView, "ledger"),
    ("bank-accounts", views.BankAccountsView, "bank-accounts"),
    ("bank-accounts/<int:bank_account_id>", views.BankAccountDetailView, "bank-account"),
    ("payouts", views.PayoutsView, "payouts"),
    ("payouts/<int:payout_id>", views.PayoutDetailView, "payout"),
    ("payouts/<int:payout_id>/events", views.PayoutEventsView, "payout-events"),
    ("demo/merchants", views.DemoMerchantsView, "demo-merchants"),
    ("metrics", views.MetricsView, "metrics"),
    ("payouts/export.csv", views_exports.PayoutsExportView, "payouts-export"),
    ("ledger/export.csv", views_exports.LedgerExportView, "ledger-export"),
    ("events", views_webhooks.EventsView, "events"),
    ("events/<str:event_id>", views_webhooks.EventDetailView, "event"),
    ("events/<str:event_id>/redeliver", views_webhooks.EventRedeliverView, "event-redeliver"),
    ("webhook-endpoints", views_webhooks.EndpointsView, "webhook-endpoints"),
    ("webhook-endpoints/<int:endpoint_id>", views_webhooks.EndpointDetailView, "webhook-endpoint"),
    ("webhook-endpoints/<int:endpoint_id>/rotate-secret", views_webhooks.EndpointRotateSecretView, "webhook-rotate"),
    ("webhook-endpoints/<int:endpoint_id>/deliveries", views_webhooks.EndpointDeliveriesView, "webhook-deliveries"),
]
# Merchant accounts (CONTRACT §7).
_routes += [
    ("auth/login", views_auth.LoginView, "auth-login"),
    ("auth/logout", views_auth.LogoutView, "auth-logout"),
    ("auth/session", views_auth.SessionView, "auth-session"),
    ("auth/demo-login", views_auth.DemoLoginView, "auth-demo-login"),
    ("api-keys", views_auth.ApiKeysView, "api-keys"),
    ("api-keys/<int:api_key_id>", views_auth.ApiKeyDetailView, "api-key"),
    ("security-events", views_auth.SecurityEventsView, "security-events"),
]
# Money in (CONTRACT §7): the collections system's credits, and the demo's simulated payments.
_routes += [
    ("internal/payments", views_payments.InternalPaymentsView, "internal-payments"),
    ("demo/payments", views_payments.DemoPaymentsView, "demo-payments"),
]

# Each path also answers with a trailing slash; the schema lists the plain one
# (see config.schema_hooks).
urlpatterns = [path(route, view.as_view(), name=name) for route, view, name in _routes]
urlpatterns += [path(f"{route}/", view.as_view()) for route, view, _ in _routes]
urlpatterns += [
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", docs.DocsView.as_view(url_name="schema"), name="docs"),
    path("docs/redoc.standalone.js", docs.RedocBundleView.as_view(), name="docs-redoc"),
    re_path(r"^.*$", views.NotFoundView.as_view(), name="not-found"),
]
