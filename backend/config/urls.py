from django.urls import include, path

urlpatterns = [path("api/v1/", include("payouts.api.urls"))]

handler400 = "payouts.api.errors.bad_request"
handler403 = "payouts.api.errors.permission_denied"
handler404 = "payouts.api.errors.page_not_found"
handler500 = "payouts.api.errors.server_error"
