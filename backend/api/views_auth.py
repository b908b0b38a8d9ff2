"""Merchant accounts over HTTP (CONTRACT §7): sign-in, sessions, API keys, security events."""

from __future__ import annotations

from django.conf import settings
from django.contrib import auth
from django.middleware.csrf import get_token
from django.utils.http import url_has_allowed_host_and_scheme
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api import schema
from api import serializers_accounts as shapes
from api.auth import Principal, SessionAuthentication, session_user
from api.errors import envelope
from api.pagination import NewestFirst
from api.permissions import KEY_MANAGERS, OWNERS
from api.throttling import client_address
from api.views import MerchantView
from common.errors import (
    Forbidden,
    InvalidCredentials,
    InvalidRequestBody,
    InvalidRequestField,
    NotFound,
    TooManyAttempts,
)
from merchants import selectors, services
from merchants.models import Merchant, SecurityEvent, User
from webhooks import selectors as webhook_selectors


def _session_body(request, user: User) -> dict:
    assert user.merchant_id is not None  # only a merchant's user gets a session body
    merchant = Merchant.objects.only("id", "name").get(pk=user.merchant_id)
    return shapes.SESSION.render(
        {
            "user": user,
            "merchant": merchant,
            "role": user.role,
            "csrf_token": get_token(request),
            # Every role learns that deliveries stopped (the dashboard's banner); only managers see the endpoints.
            "webhook_endpoints_disabled": webhook_selectors.endpoints_disabled_count(merchant_id=user.merchant_id),
        }
    )


def _sign_in(request, user: User, backend: str | None = None) -> None:
    """Sign in under a new session id, always: a session id known before sign-in is worthless after it."""
    django_request = request._request
    django_request.session.cycle_key()
    auth.login(django_request, user, backend=backend)
    django_request._cached_user = user


def _text(body: dict, name: str, limit: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidRequestField(f"{name} is required: a string of at most {limit} characters.", field=name)
    return value


def _stored_text(body: dict, name: str, limit: int) -> str:
    """A text that is stored or looked up in the database, which holds no NUL character."""
    value = _text(body, name, limit)
    if "\x00" in value:
        raise InvalidRequestField(f"{name} must not contain the NUL character.", field=name)
    return value


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise InvalidRequestBody()
    return request.data


def _origin_allowed(request) -> bool:
    """A sign-in from a page of another site is refused (login CSRF); no Origin (curl, scripts) is fine."""
    origin = request.headers.get("Origin")
    if not origin:
        return True
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    return url_has_allowed_host_and_scheme(origin + "/", allowed_hosts={request.get_host()})


class _AccountView(APIView):
    """Sign-in and session endpoints: no API key, the session middleware's user."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def _check_origin(self, request) -> None:
        if not _origin_allowed(request):
            raise Forbidden("Sign-in is only accepted from the dashboard's own origins.")


_SESSION_CODES = ("unauthenticated", "database_timeout", "database_unavailable")


class LoginView(_AccountView):
    @extend_schema(
        **schema.operation(
            {200: shapes.Session},
            "invalid_request",
            "invalid_body",
            "malformed_json",
            "unsupported_media_type",
            "request_too_large",
            "invalid_credentials",
            "forbidden",
            "too_many_attempts",
            "database_timeout",
            "database_unavailable",
            authenticated=False,
        ),
        request=shapes.LoginRequest,
        auth=[],
        operation_id="auth_login",
        description=(
            "Sign in to the dashboard with an email and a password: sets the session cookie (HttpOnly, "
            "SameSite=Lax) and returns the CSRF token to send as X-CSRFToken on unsafe requests. A wrong email "
            "or password is 401 invalid_credentials, the same whether the email exists or not. More than 10 "
            "failures for one email or one client address within 15 minutes: 429 too_many_attempts."
        ),
    )
    def post(self, request):
        self._check_origin(request)
        body = _body(request)
        email = _stored_text(body, "email", 254).strip().lower()
        password = _text(body, "password", 256)
        address = client_address(request)
        wait = selectors.login_retry_after(
            email=email,
            client_address=address,
            max_failures=settings.LOGIN_MAX_FAILURES,
            window_seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS,
        )
        if wait is not None:
            raise TooManyAttempts(wait)
        # ModelBackend runs the password hasher for an unknown email too: both answers take as long.
        user = auth.authenticate(request._request, username=email, password=password)
        if user is None or user.merchant_id is None:
            known = User.objects.filter(email=email).values_list("merchant_id", flat=True).first()
            services.security_event_record(
                kind=SecurityEvent.Kind.LOGIN_FAILED,
                merchant_id=known,
                email=email,
                client_address=address,
                description="Sign-in refused: wrong email or password",
            )
            raise InvalidCredentials()
        _sign_in(request, user)
        services.security_event_record(
            kind=SecurityEvent.Kind.LOGIN_SUCCEEDED,
            merchant_id=user.merchant_id,
            user_id=user.pk,
            email=user.email,
            client_address=address,
            description="Signed in with email and password",
        )
        return Response(_session_body(request, user))


class DemoLoginView(_AccountView):
    @extend_schema(
        **schema.operation(
            {200: shapes.Session},
            "invalid_request",
            "invalid_body",
            "malformed_json",
            "unsupported_media_type",
            "request_too_large",
            "forbidden",
            "not_found",
            "database_timeout",
            "database_unavailable",
            authenticated=False,
        ),
        request=shapes.DemoLoginRequest,
        auth=[],
        operation_id="auth_demo_login",
        description="DEMO_MODE only (404 otherwise): sign in as a demo merchant's owner, in one click.",
    )
    def post(self, request):
        if not settings.DEMO_MODE:
            return Response(envelope("not_found", "Not found."), status=404)
        self._check_origin(request)
        merchant_id = _body(request).get("merchant_id")
        if type(merchant_id) is not int or not 0 < merchant_id < 2**63:
            raise InvalidRequestField("merchant_id must be the id of a demo merchant.", field="merchant_id")
        if not Merchant.objects.filter(pk=merchant_id, is_demo=True).exists():
            raise NotFound("No such demo merchant.", field="merchant_id")
        user = services.demo_owner_ensure(merchant_id=merchant_id)
        _sign_in(request, user, backend="django.contrib.auth.backends.ModelBackend")
        services.security_event_record(
            kind=SecurityEvent.Kind.LOGIN_SUCCEEDED,
            merchant_id=merchant_id,
            user_id=user.pk,
            email=user.email,
            client_address=client_address(request),
            description="Signed in with the demo sign-in",
        )
        return Response(_session_body(request, user))


class LogoutView(APIView):
    """Sign out: the session ends (its row is deleted). Needs the CSRF token like any unsafe request."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [AllowAny]

    @extend_schema(
        **schema.operation({204: None}, "forbidden", *_SESSION_CODES, authenticated=False),
        request=None,
        operation_id="auth_logout",
    )
    def post(self, request):
        auth.logout(request._request)
        return Response(status=204)


class SessionView(_AccountView):
    @extend_schema(
        **schema.operation({200: shapes.Session}, *_SESSION_CODES, authenticated=False),
        auth=[],
        operation_id="auth_session",
        description="Who is signed in with this session cookie (200), or 401 unauthenticated.",
    )
    def get(self, request):
        user = session_user(request)
        if not user.is_authenticated or user.merchant_id is None:
            return Response(envelope("unauthenticated", "Nobody is signed in."), status=401)
        return Response(_session_body(request, user))


# --- API keys and security events --------------------------------------------------------


class ApiKeysView(MerchantView):
    def get_permissions(self):
        return [KEY_MANAGERS]

    @extend_schema(
        **schema.operation({200: schema.list_of(shapes.ApiKey)}, "forbidden"),
        operation_id="api_keys_list",
        description="The merchant's API keys, newest first, revoked ones included. Signed-in owners and developers.",
    )
    def get(self, request):
        return Response([shapes.API_KEY.render(k) for k in selectors.api_keys(merchant_id=request.user.merchant_id)])

    @extend_schema(
        **schema.operation(
            {201: shapes.NewApiKey},
            "invalid_request",
            "invalid_body",
            "malformed_json",
            "unsupported_media_type",
            "request_too_large",
            "forbidden",
        ),
        request=shapes.ApiKeyRequest,
        operation_id="api_keys_create",
        description="A new API key. Its secret is in this response only; the API keeps a hash of it.",
    )
    def post(self, request):
        principal: Principal = request.user
        name = _stored_text(_body(request), "name", 100)
        created = services.api_key_create(
            merchant_id=principal.merchant_id,
            name=name,
            user_id=principal.user_id,
            client_address=client_address(request),
        )
        return Response(shapes.new_api_key(created.key, created.secret), status=201)


class ApiKeyDetailView(MerchantView):
    def get_permissions(self):
        return [KEY_MANAGERS]

    @extend_schema(
        **schema.operation({200: shapes.ApiKey}, "forbidden", "not_found"),
        operation_id="api_keys_revoke",
        description="Revoke the key at once: the next request with it is 401. Revoking it again changes nothing.",
    )
    def delete(self, request, api_key_id: int):
        principal: Principal = request.user
        key = services.api_key_revoke(
            merchant_id=principal.merchant_id,
            api_key_id=api_key_id,
            user_id=principal.user_id,
            client_address=client_address(request),
        )
        return Response(shapes.API_KEY.render(key))


class SecurityEventsView(MerchantView):
    def get_permissions(self):
        return [OWNERS]

    @extend_schema(
        **schema.operation(
            {200: schema.page_of("SecurityEventPage", shapes.SecurityEventSerializer)},
            "forbidden",
            "invalid_limit",
            "invalid_cursor",
            parameters=schema.PAGE_PARAMETERS,
        ),
        operation_id="security_events_list",
        description="Sign-ins, API keys, bank accounts and credits of the merchant, newest first. Owners only.",
    )
    def get(self, request):
        paginator = NewestFirst()
        events = selectors.security_events(merchant_id=request.user.merchant_id)
        page = paginator.paginate_queryset(events, request, self)
        return paginator.get_paginated_response([shapes.SECURITY_EVENT.render(e) for e in page or []])
