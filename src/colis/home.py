"""The data folder (`$COLIS_HOME`) and the secret key kept in it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_KEY_FILE = "secret_key"


def colis_home() -> Path:
    """The data folder: `$COLIS_HOME`, else `./colis-data`, as an absolute path."""
    return Path(os.environ.get("COLIS_HOME") or "colis-data").resolve()


def ensure_home() -> Path:
    home = colis_home()
    home.mkdir(parents=True, exist_ok=True)
    return home


def secret_key() -> str:
    """`$COLIS_SECRET_KEY`, else the key in the data folder, created on first use."""
    if key := os.environ.get("COLIS_SECRET_KEY"):
        return key
    path = ensure_home() / SECRET_KEY_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(50)
    # O_EXCL: two processes starting together agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key
