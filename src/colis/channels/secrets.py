"""Channel credentials at rest: sealed with a key derived from the instance's secret key, so a
copy of the database alone does not give away the merchant's marketplace accounts."""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    key = hashlib.sha256(b"colis-channel-credentials:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(value: Any) -> str:
    """The JSON of `value`, encrypted and authenticated."""
    data = json.dumps(value, separators=(",", ":")).encode()
    return _fernet(settings.SECRET_KEY).encrypt(data).decode()


def unseal(token: str) -> Any:
    """What `seal` sealed; None for an empty token. Raises ValueError when the secret key
    changed since (the credentials must be entered again)."""
    if not token:
        return None
    try:
        return json.loads(_fernet(settings.SECRET_KEY).decrypt(token.encode()))
    except InvalidToken as exc:
        raise ValueError("The channel's credentials cannot be read with this secret key.") from exc
