"""Who is calling: a bearer API key or a dashboard session, as one ``Principal``, or 401.

Every merchant endpoint accepts either. A session authenticates only a user
of a merchant (not a staff user), and its unsafe requests must carry the CSRF
token (``X-CSRFToken``), or they are refused with 403 ``forbidden``.

Wrong keys are counted per client address (``throttling.auth_failure``): past
AUTH_FAILURE_RATE_LIMIT the address gets 429 for any key until the window ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from api import throttling
from common.metrics import bearer_matches
from merchants.models import Role
from merchants.selectors import merchant_by_api_key
from merchants.services import api_key_mark_used

VIA_SESSION, VIA_API_KEY = "session", "api_key"


@dataclass(frozen=True)
class Principal:
    """The caller of a merchant endpoint: ``request.user``.

    An API key acts as a ``developer`` that may also create payouts; what
    needs a person (keys, bank accounts, webhooks, security events) checks
    ``via`` too (api.permissions).
    """

    merchant_id: int
    merchant_name: str
    role: str
    via: str
    user_id: int | None = None
    api_key_id: int | None = None
    is_authenticated: bool = True

    # The merchant, as the views and GET /me have always read it.
    @property
    def id(self) -> int:
        return self.merchant_id

    @property
    def name(self) -> str:
        return self.merchant_name


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        if "HTTP_AUTHORIZATION" not in request.META:
            return None  # perhaps a session (SessionAuthentication); an empty header is a wrong one
        header = request.META["HTTP_AUTHORIZATION"]
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise exceptions.AuthenticationFailed("Send your API key as 'Authorization: Bearer <api_key>'.")
        throttling.auth_attempt_allowed(request)
        found = merchant_by_api_key(key=key) if len(key) <= 200 else None
        if found is None:
            throttling.auth_failure(request)
            raise exceptions.AuthenticationFailed("The API key is not valid.")
        if found.use_unrecorded:
            api_key_mark_used(api_key_id=found.api_key_id)
        principal = Principal(
            merchant_id=found.merchant_id,
            merchant_name=found.merchant_name,
            role=Role.DEVELOPER,
            via=VIA_API_KEY,
            api_key_id=found.api_key_id,
        )
        return principal, key

    def authenticate_header(self, request) -> str:
        return self.keyword


def session_user(request):
    """The user of the request's session cookie (AnonymousUser when none), whatever DRF set request.user to."""
    django_request = getattr(request, "_request", request)
    cached = getattr(django_request, "_cached_user", None)
    if cached is None:
        cached = django_request._cached_user = get_user(django_request)
    return cached


class SessionAuthentication(authentication.SessionAuthentication):
    """The dashboard's session cookie: a merchant's user; unsafe methods need the CSRF token."""

    def authenticate(self, request):
        user = session_user(request)
        if not user.is_authenticated or not user.is_active or user.merchant_id is None:
            return None
        self.enforce_csrf(request)
        principal = Principal(
            merchant_id=user.merchant_id,
            merchant_name=user.merchant.name,
            role=user.role,
            via=VIA_SESSION,
            user_id=user.pk,
        )
        return principal, None

    def enforce_csrf(self, request):
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise exceptions.PermissionDenied(
                "This request needs the CSRF token in the X-CSRFToken header (from /auth/session)."
            ) from exc


class IsMerchant(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, Principal)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <api_key>"}


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = SessionAuthentication
    name = "Session"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": (
                "The dashboard's session cookie, from POST /auth/login. Unsafe methods (POST, DELETE) also "
                "need the header X-CSRFToken: <csrf_token from /auth/login or /auth/session>."
            ),
        }


# --- the collections system (POST /internal/payments) ----------------------------------------


@dataclass(frozen=True)
class InternalCaller:
    """The bearer of INTERNAL_API_TOKEN: a system of ours, not a merchant."""

    is_authenticated: bool = True


class InternalTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <INTERNAL_API_TOKEN>``, compared in constant time; nothing else.

    While the setting is unset the route looks absent (404 ``not_found``). A
    session or a merchant's API key is never accepted here: they are not this
    token.
    """

    def authenticate(self, request):
        token = settings.INTERNAL_API_TOKEN
        if not token:
            raise exceptions.NotFound(f"No endpoint at {request.path}.")
        if not bearer_matches(request.META.get("HTTP_AUTHORIZATION", ""), token):
            raise exceptions.AuthenticationFailed("Send the internal token as 'Authorization: Bearer <token>'.")
        return InternalCaller(), None

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="internal"'


class IsInternalCaller(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, InternalCaller)


class InternalTokenScheme(OpenApiAuthenticationExtension):
    target_class = InternalTokenAuthentication
    name = "InternalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "Authorization: Bearer <INTERNAL_API_TOKEN>: the collections system's token, not a merchant's "
                "API key. The operation answers 404 while the server has no INTERNAL_API_TOKEN."
            ),
        }
