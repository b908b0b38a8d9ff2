"""Where a webhook may be sent: the URL rules, and the address to connect to.

A URL must be ``https`` (unless ``WEBHOOKS_ALLOW_HTTP``) and every address its
host resolves to must be public: not private, loopback, link-local (the cloud
metadata service at 169.254.169.254), multicast, reserved or unspecified
(unless ``WEBHOOKS_ALLOW_PRIVATE``). The check runs when an endpoint is saved
and again before every delivery, and the delivery connects to the very
address that was checked (see ``webhooks.client``): a DNS answer that changes
between the check and the connection (rebinding) cannot steer a request
inside the network.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from common.errors import PayoutError


class InvalidWebhookUrl(PayoutError):
    code = "invalid_url"
    field = "url"
    message = "url must be an https URL of a public host."


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL: the Host header and the TLS server name
    port: int
    path: str  # path and query
    address: str  # the checked IP address to connect to


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_link_local)


def url_check(url: str) -> tuple[str, str, int, str]:
    """The URL's scheme, host, port and path, or InvalidWebhookUrl saying what is wrong."""
    if not isinstance(url, str) or not url or len(url) > 2048:
        raise InvalidWebhookUrl("url must be a URL of at most 2048 characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidWebhookUrl("url is not a valid URL.") from exc
    allowed = ("https", "http") if settings.WEBHOOKS_ALLOW_HTTP else ("https",)
    if parts.scheme not in allowed:
        raise InvalidWebhookUrl("url must use https.")
    if not parts.hostname:
        raise InvalidWebhookUrl("url must name a host.")
    if parts.username or parts.password:
        raise InvalidWebhookUrl("url must not carry a user name or password.")
    if any(c.isspace() for c in url):
        raise InvalidWebhookUrl("url must not contain spaces.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def resolve(url: str) -> Target:
    """Check the URL and resolve its host to one allowed address (the first of them)."""
    scheme, host, port, path = url_check(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidWebhookUrl(f"url's host {host} does not resolve.") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise InvalidWebhookUrl(f"url's host {host} does not resolve.")
    if not settings.WEBHOOKS_ALLOW_PRIVATE:
        refused = [a for a in addresses if not _address_allowed(a)]
        if refused:
            raise InvalidWebhookUrl(
                f"url's host {host} resolves to {refused[0]}, a private, loopback, link-local or reserved address."
            )
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])
