"""Signed cookies of the web pages: who is signed in, and anonymous voter sessions.

The REST API authenticates with bearer tokens only. The pages, which a browser drives without
JavaScript, use two cookies, both ``HttpOnly`` and ``SameSite=Lax`` (a cross-site form cannot send
them with a POST), each ``value.expiry.signature`` with an HMAC-SHA256 signature:

- ``rb_user``: the signed-in user's id, set by ``POST /signin`` after checking an API token (the
  token itself is never stored in the cookie), valid for :data:`USER_DAYS` days;
- ``rb_voter``: an anonymous voter's random session id (128 bits), set the first time an
  anonymous visitor opens a battle, valid for :data:`VOTER_DAYS` days.

Forms that change something carry a CSRF token too: the HMAC of the voter's key and the form's
purpose, checked on POST. The key is ``RAGBENCH_SECRET_KEY``, or a random key created once in
``HOME/secret_key`` (mode 0600); replicas behind one proxy must share it. HMAC from the standard
library is all this needs (no session store, no dependency).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

from ragbench.errors import RagbenchError

USER_COOKIE = "rb_user"
VOTER_COOKIE = "rb_voter"
USER_DAYS = 30
VOTER_DAYS = 365
KEY_FILE = "secret_key"


def load_secret(configured: str | None, home: Path) -> bytes:
    """The signing key: ``configured`` (``RAGBENCH_SECRET_KEY``), else the key file under ``home``,
    created with 32 random bytes on first use.

    Raises:
        RagbenchError: the key file cannot be read or created.
    """
    if configured:
        return configured.encode("utf-8")
    path = home / KEY_FILE
    try:
        if not path.exists():
            home.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
        return path.read_text().strip().encode("utf-8")
    except FileExistsError:  # another process created it in between
        return path.read_text().strip().encode("utf-8")
    except OSError as exc:
        raise RagbenchError(f"cannot read or create the cookie key {path}: {exc}") from None


class Signer:
    """Signs and checks cookie values and CSRF tokens with one key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, purpose: str, payload: str) -> str:
        digest = hmac.new(self._key, f"{purpose}\x00{payload}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, purpose: str, value: str, days: int) -> str:
        """``value.expiry.signature``: ``value`` (no dots) valid for ``days`` days."""
        payload = f"{value}.{int(time.time()) + days * 86400}"
        return f"{payload}.{self._mac(purpose, payload)}"

    def unsign(self, purpose: str, signed: str | None) -> str | None:
        """The value of a signed cookie, or None when it is missing, forged or expired."""
        if not signed or signed.count(".") != 2:
            return None
        value, expiry, mac = signed.split(".")
        if not hmac.compare_digest(mac, self._mac(purpose, f"{value}.{expiry}")):
            return None
        if not expiry.isdecimal() or int(expiry) < time.time():
            return None
        return value

    def csrf(self, voter_key: str, purpose: str) -> str:
        """The CSRF token of ``voter_key``'s forms for ``purpose``."""
        return self._mac("csrf", f"{voter_key}\x00{purpose}")

    def check_csrf(self, voter_key: str, purpose: str, token: str | None) -> bool:
        """Whether ``token`` is ``voter_key``'s token for ``purpose``."""
        return bool(token) and hmac.compare_digest(str(token), self.csrf(voter_key, purpose))


def new_voter_session() -> str:
    """A fresh anonymous voter session id: 32 hex digits."""
    return secrets.token_hex(16)
