"""Every 4xx and 5xx in one shape: {"error": {"code", "message", "field"}}."""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from common.errors import PayoutError

logger = logging.getLogger(__name__)

_CODES = {
    exceptions.NotAuthenticated: "unauthenticated",
    exceptions.AuthenticationFailed: "unauthenticated",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "malformed_json",
    exceptions.Throttled: "rate_limited",
}


def envelope(code: str, message: str, field: str | None = None) -> dict:
    return {"error": {"code": code, "message": message, "field": field}}


def error_response(code: str, message: str, status_code: int, field: str | None = None) -> JsonResponse:
    return JsonResponse(envelope(code, message, field), status=status_code)


# SQLSTATEs of the database's own timeouts: lock_timeout, statement_timeout,
# idle_in_transaction_session_timeout.
_DATABASE_TIMEOUTS = {"55P03", "57014", "25P03"}


def database_error_response(exc: Exception) -> Response:
    """A database that timed out or went away: 503, and the transaction was rolled back."""
    if getattr(exc.__cause__, "pgcode", None) in _DATABASE_TIMEOUTS:
        code, message = "database_timeout", "The database did not answer in time; nothing was changed."
    else:
        code, message = "database_unavailable", "The database is unavailable; nothing was changed."
    logger.warning("%s on this request: %s", code, exc)
    return Response(
        envelope(code, f"{message} Retry the same request (with the same Idempotency-Key)."),
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "1"},
    )


def exception_handler(exc, context):
    if isinstance(exc, PayoutError):
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return Response(exc.as_dict(), status=exc.status, headers=headers)
    if isinstance(exc, OperationalError | InterfaceError):
        return database_error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_validation_error(exc.detail)
        return Response(envelope("invalid_request", message, field), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), exc.default_code)
        message = str(exc.detail) if isinstance(exc.detail, str) else str(exc.default_detail)
        if isinstance(exc, exceptions.ParseError):
            message = "The request body is not valid JSON."
        headers = {}
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            headers["WWW-Authenticate"] = "Bearer"
            exc.status_code = status.HTTP_401_UNAUTHORIZED
            if isinstance(exc, exceptions.NotAuthenticated):
                message = "Send your API key as 'Authorization: Bearer <api_key>'."
        wait = getattr(exc, "wait", None)
        if wait:
            headers["Retry-After"] = str(int(wait) or 1)
        return Response(envelope(code, message), status=exc.status_code, headers=headers)
    return None  # a bug: ApiErrorMiddleware logs it and answers 500 in the envelope


def _first_validation_error(detail) -> tuple[str | None, str]:
    if isinstance(detail, dict):
        for field, value in detail.items():
            _, message = _first_validation_error(value)
            return (None if field == "non_field_errors" else str(field)), message
    if isinstance(detail, list) and detail:
        return _first_validation_error(detail[0])
    return None, str(detail)


# Django's own error views, for what fails before any view runs (a Host header
# not in ALLOWED_HOSTS, for one): the same envelope, DEBUG or not.
def bad_request(request, exception=None):
    return error_response("bad_request", "The request could not be understood.", 400)


def permission_denied(request, exception=None):
    return error_response("forbidden", "You may not do this.", 403)


def page_not_found(request, exception=None):
    return error_response("not_found", f"No endpoint at {request.path}.", 404)


def server_error(request):
    return error_response("internal_error", "Something went wrong on our side. Please retry.", 500)
