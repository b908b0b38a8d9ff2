"""The wire shapes of merchant accounts (CONTRACT §7): sessions, API keys, security events.

Defined once as ``Shape``s, like the payout shapes; the serializers made from
them are what the OpenAPI document shows.
"""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from api.serializers import serializer_for
from merchants.models import Role, SecurityEvent
from payouts import representations as wire
from payouts.representations import Choice, Integer, Nested, Shape, Text, Timestamp

USER = Shape("User", {"id": Integer(), "email": Text()})
SESSION = Shape(
    "Session",
    {
        "user": Nested(shape=USER),
        "merchant": Nested(shape=wire.ME),
        "role": Choice.of(Role),
        "csrf_token": Text(help_text="Send it as the X-CSRFToken header on POST and DELETE requests."),
        "webhook_endpoints_disabled": Integer(
            help_text="How many of the merchant's webhook endpoints are disabled (every role sees this count)."
        ),
    },
    from_mapping=True,
)
_KEY_FIELDS = {
    "id": Integer(),
    "name": Text(),
    "prefix": Text(help_text="The first characters of the secret, to tell keys apart."),
    "created_at": Timestamp(),
    "last_used_at": Timestamp(nullable=True, help_text="Kept to the minute."),
    "revoked_at": Timestamp(nullable=True),
}
API_KEY = Shape("ApiKey", _KEY_FIELDS)
NEW_API_KEY = Shape(
    "NewApiKey",
    {**_KEY_FIELDS, "secret": Text(help_text="The key itself: shown only in this response.")},
    from_mapping=True,
)
SECURITY_EVENT = Shape(
    "SecurityEvent",
    {
        "id": Integer(),
        "kind": Choice.of(SecurityEvent.Kind),
        "user_id": Integer(nullable=True, help_text="The signed-in user who acted, if one did."),
        "email": Text(nullable=True, help_text="The user's email, or the email tried at a failed sign-in."),
        "api_key_id": Integer(nullable=True, help_text="The API key concerned or used."),
        "client_address": Text(nullable=True),
        "description": Text(),
        "created_at": Timestamp(),
    },
)

Session = serializer_for(SESSION)
ApiKey = serializer_for(API_KEY)
NewApiKey = serializer_for(NEW_API_KEY)
SecurityEventSerializer = serializer_for(SECURITY_EVENT)

# Texts the database stores or looks up hold no NUL character.
_NO_NUL = r"^[^\x00]+$"

LoginRequest = inline_serializer(
    "LoginRequest",
    {"email": serializers.RegexField(_NO_NUL, max_length=254), "password": serializers.CharField(max_length=256)},
)
DemoLoginRequest = inline_serializer("DemoLoginRequest", {"merchant_id": serializers.IntegerField(min_value=1)})
# A name is trimmed: it needs one character that is not a space.
BankAccountRequest = inline_serializer(
    "BankAccountRequest",
    {
        # Not blank, no control characters (C0, DEL, C1).
        "holder_name": serializers.RegexField(
            r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x1f\x7f-\x9f\s][^\x00-\x1f\x7f-\x9f]*$",
            max_length=200,
            help_text="The account holder's name.",
        ),
        "ifsc": serializers.RegexField(r"^[A-Z]{4}0[A-Z0-9]{6}$", help_text="Like HDFC0001234."),
        "account_number": serializers.RegexField(r"^[0-9]{9,18}$", help_text="9 to 18 digits, as a string."),
    },
)
ApiKeyRequest = inline_serializer(
    "ApiKeyRequest",
    {"name": serializers.RegexField(r"^[^\x00]*[^\x00\s][^\x00]*$", min_length=1, max_length=100)},
)


def new_api_key(key, secret: str) -> dict:
    """A key just made, with its secret (the only time it is sent)."""
    return NEW_API_KEY.render({name: getattr(key, name) for name in _KEY_FIELDS} | {"secret": secret})
