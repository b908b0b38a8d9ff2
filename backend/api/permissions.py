"""Who may do what (CONTRACT §7), checked on the server for every merchant endpoint.

- owner: everything;
- developer: API keys and webhooks, reads everything; no payouts from the dashboard;
- viewer: reads only;
- an API key: reads and ``POST /payouts``; never keys, bank accounts, webhook
  endpoints or security events, so a leaked key cannot mint more.

A permission is an instance (``SignedIn(roles={"owner"})``); DRF calls each
entry of ``permission_classes``, and an instance returns itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework import permissions

from api.auth import VIA_API_KEY, VIA_SESSION, Principal
from merchants.models import Role

OWNER, DEVELOPER, VIEWER = Role.OWNER.value, Role.DEVELOPER.value, Role.VIEWER.value
EVERY_ROLE = frozenset({OWNER, DEVELOPER, VIEWER})


class _Rule(permissions.BasePermission):
    message = "Your role does not allow this."

    def __call__(self) -> _Rule:
        return self

    def allows(self, principal: Principal) -> bool:
        raise NotImplementedError

    def has_permission(self, request, view) -> bool:
        principal = request.user
        if not isinstance(principal, Principal):
            return False  # DRF answers 401: nobody authenticated
        return self.allows(principal)


class SignedIn(_Rule):
    """A signed-in user (session) with one of ``roles``; an API key is refused (403)."""

    def __init__(self, roles: Iterable[str] = EVERY_ROLE) -> None:
        self.roles = frozenset(roles)
        if self.roles == {OWNER}:
            self.message = "Only the merchant's owner may do this, signed in to the dashboard."
        else:
            self.message = f"This needs a signed-in {' or '.join(sorted(self.roles))}; an API key may not do it."

    def allows(self, principal: Principal) -> bool:
        return principal.via == VIA_SESSION and principal.role in self.roles


class SignedInOrApiKey(_Rule):
    """A signed-in user with one of ``roles``, or any API key of the merchant."""

    def __init__(self, roles: Iterable[str]) -> None:
        self.roles = frozenset(roles)
        self.message = f"This needs an API key or a signed-in {' or '.join(sorted(self.roles))}."

    def allows(self, principal: Principal) -> bool:
        return principal.via == VIA_API_KEY or principal.role in self.roles


class ByMethod(permissions.BasePermission):
    """Reads for any caller of the merchant; each unsafe method by its own rule (unlisted: nobody)."""

    def __init__(self, **rules: _Rule) -> None:
        self.rules = {method.upper(): rule for method, rule in rules.items()}
        self.message = "You may not do this."

    def __call__(self) -> ByMethod:
        return self

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.user, Principal):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        rule = self.rules.get(request.method)
        if rule is None:
            return False
        self.message = rule.message
        return rule.has_permission(request, view)


# The rules the endpoints use.
PAYOUT_WRITERS = SignedInOrApiKey(roles={OWNER})
KEY_MANAGERS = SignedIn(roles={OWNER, DEVELOPER})
OWNERS = SignedIn(roles={OWNER})
WEBHOOK_MANAGERS = SignedIn(roles={OWNER, DEVELOPER})
