"""Who may call an operation, by the principal's attributes (see ``api.auth``).

A principal carries ``via`` ("session" or "api_key") and ``role`` ("owner",
"developer", "viewer"). An API key acts as a developer for reads and may
create payouts, but it may not manage what could widen its own reach (API
keys, bank accounts, webhook endpoints): those need a signed-in user with the
right role, else 403 ``forbidden``. A principal without these attributes (an
API key of the engine before sign-in existed) counts as an API key.
"""

from __future__ import annotations

from rest_framework import permissions


class SignedIn(permissions.BasePermission):
    """A signed-in user (a session, not an API key) whose role is one of ``roles``."""

    message = "This needs a signed-in owner or developer; an API key may not do it."
    roles: frozenset[str] = frozenset({"owner"})

    def __init__(self, roles=None) -> None:
        if roles is not None:
            self.roles = frozenset(roles)

    def has_permission(self, request, view) -> bool:
        user = request.user
        return (
            getattr(user, "is_authenticated", False)
            and getattr(user, "via", "api_key") == "session"
            and getattr(user, "role", None) in self.roles
        )


class OwnerOrDeveloperSession(SignedIn):
    roles = frozenset({"owner", "developer"})
