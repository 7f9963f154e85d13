"""Which webhook URLs are acceptable: http(s), and not the host itself or a private network
unless the merchant allows it."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def url_problem(url: str, *, allow_private: bool) -> str:
    """Why this URL cannot receive webhooks, or "" when it can."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "An http or https URL is required."
    if allow_private:
        return ""
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError:
        return f"The host {parts.hostname} cannot be resolved."
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            return (
                f"{parts.hostname} points at a private or local address ({address}); "
                "allow private addresses on this webhook to use it."
            )
    return ""
