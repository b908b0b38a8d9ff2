"""Serve the built dashboard from the API process: one URL for the API and the UI.

WhiteNoise serves ``FRONTEND_DIST`` (``WHITENOISE_ROOT``): ``index.html`` at
``/`` and the hashed bundles under ``/assets/`` with long-lived cache headers,
ETags, HEAD and precompressed variants, without letting a path escape the
directory. Paths it does not know, ``/api/...`` among them, go on to Django.
"""

from __future__ import annotations

import os

from whitenoise.middleware import WhiteNoiseMiddleware


class DashboardMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise for the dashboard only.

    The API has no static files of its own (no admin, JSON-only DRF; the docs'
    Redoc bundle is served by api.docs), so ``collectstatic`` is never run and a missing
    ``STATIC_ROOT`` is not worth a warning at every start.
    """

    def add_files(self, root, prefix=None):
        if self.autorefresh or os.path.isdir(root):
            super().add_files(root, prefix)
