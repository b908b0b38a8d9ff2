from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("api.urls")),
    # The operators' console (staff only, a TOTP second factor when DEBUG is off): ops.admin_site, ops.admin.
    path("admin/", admin.site.urls),
]

handler400 = "api.errors.bad_request"
handler403 = "api.errors.permission_denied"
handler404 = "api.errors.page_not_found"
handler500 = "api.errors.server_error"
