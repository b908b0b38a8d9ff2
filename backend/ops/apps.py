from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OpsConfig(AppConfig):
    name = "ops"
    default_auto_field = "django.db.models.BigAutoField"
    default = True  # "ops" in INSTALLED_APPS means this one, not the admin's below


class OperatorsAdminConfig(admin_apps.AdminConfig):
    """Django's admin with the operators' site as ``admin.site`` (a second factor, staff only)."""

    default = False
    default_site = "ops.admin_site.OperatorsAdminSite"
