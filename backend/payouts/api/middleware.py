"""Keep the error envelope for what happens outside DRF's views."""

from __future__ import annotations

import logging

from payouts.api.errors import error_response

logger = logging.getLogger("payouts.api")


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
