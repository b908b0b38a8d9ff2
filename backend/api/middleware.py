"""Keep the error envelope for what happens outside DRF's views."""

from __future__ import annotations

import logging
import time

from api.errors import error_response
from common import metrics

logger = logging.getLogger("api")


class ApiErrorMiddleware:
    """Unhandled exceptions under /api/ answer 500 in the envelope, DEBUG or not.

    Also refuses oversized bodies with 413 before anything reads them.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        from django.conf import settings

        self.max_body = settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    def __call__(self, request):
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return error_response("invalid_request", "Content-Length is not a number.", 400)
            if length > self.max_body:
                return error_response(
                    "request_too_large", f"The request body is larger than {self.max_body} bytes.", 413
                )
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/"):
            return None
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response("internal_error", "Something went wrong on our side. Please retry.", 500)


class HttpMetricsMiddleware:
    """Counts and times every request by route, method and status (http_requests_total, http_request_seconds).

    The route is the URL pattern's name (its pattern for the unnamed
    trailing-slash forms), never the raw path, so ids in paths do not make new
    series; a request no pattern matched is "unmatched". Methods outside the
    usual few count as "other".
    """

    METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        route = (match.url_name or match.route or "unmatched") if match is not None else "unmatched"
        method = request.method if request.method in self.METHODS else "other"
        metrics.HTTP_REQUESTS.labels(route=route, method=method, status=str(response.status_code)).inc()
        metrics.HTTP_REQUEST_SECONDS.labels(route=route, method=method).observe(elapsed)
        return response
