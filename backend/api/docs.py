"""``/api/v1/docs``: the OpenAPI document rendered by Redoc, served by the API itself.

The Redoc bundle comes from the ``drf-spectacular-sidecar`` package and is
served from this process (no CDN, no ``collectstatic``), so the docs work
offline and wherever the API runs. Its ETag is the package's version.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import drf_spectacular_sidecar
from django.http import FileResponse, HttpResponseNotModified
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views import View
from drf_spectacular.views import SpectacularRedocView

REDOC_BUNDLE = (
    Path(drf_spectacular_sidecar.__file__).parent
    / "static"
    / "drf_spectacular_sidecar"
    / "redoc"
    / "bundles"
    / "redoc.standalone.js"
)
_ETAG = f'"redoc-{version("drf-spectacular-sidecar")}"'


class DocsView(SpectacularRedocView):
    template_name = "api/docs.html"

    @staticmethod
    def _redoc_standalone() -> str:
        return reverse("docs-redoc")


class RedocBundleView(View):
    """The Redoc bundle; public, like the document it renders."""

    def get(self, request) -> HttpResponseBase:
        if request.headers.get("If-None-Match") == _ETAG:
            response: HttpResponseBase = HttpResponseNotModified()
        else:
            response = FileResponse(REDOC_BUNDLE.open("rb"), content_type="text/javascript; charset=utf-8")
        response["ETag"] = _ETAG
        patch_cache_control(response, public=True, no_cache=True)  # revalidated: the ETag makes that a 304
        return response
