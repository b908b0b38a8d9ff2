"""Bearer API keys. A request is authenticated as one merchant, or refused with 401.

Wrong keys are counted per client address (``throttling.auth_failure``): past
AUTH_FAILURE_RATE_LIMIT the address gets 429 for any key until the window ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from api import throttling
from merchants.selectors import merchant_by_api_key


@dataclass(frozen=True)
class AuthenticatedMerchant:
    id: int
    name: str
    is_authenticated: bool = True


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise exceptions.AuthenticationFailed("Send your API key as 'Authorization: Bearer <api_key>'.")
        throttling.auth_attempt_allowed(request)
        found = merchant_by_api_key(key=key) if len(key) <= 200 else None
        if found is None:
            throttling.auth_failure(request)
            raise exceptions.AuthenticationFailed("The API key is not valid.")
        merchant_id, name = found
        return AuthenticatedMerchant(id=merchant_id, name=name), key

    def authenticate_header(self, request) -> str:
        return self.keyword


class IsMerchant(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, AuthenticatedMerchant)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <api_key>"}
