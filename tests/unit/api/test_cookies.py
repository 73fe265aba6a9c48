"""Signed page cookies and CSRF tokens."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from api.cookies import Signer, load_secret, new_voter_session


def test_sign_and_unsign() -> None:
    signer = Signer(b"k" * 32)
    signed = signer.sign("rb_user", "42", days=1)
    assert signer.unsign("rb_user", signed) == "42"
    assert signer.unsign("rb_voter", signed) is None  # bound to its purpose
    value, expiry, mac = signed.split(".")
    assert signer.unsign("rb_user", f"43.{expiry}.{mac}") is None  # tampered value
    assert signer.unsign("rb_user", f"{value}.{int(expiry) + 1}.{mac}") is None  # tampered expiry
    assert Signer(b"other").unsign("rb_user", signed) is None  # another key
    assert signer.unsign("rb_user", None) is None and signer.unsign("rb_user", "junk") is None


def test_expired_cookie(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = Signer(b"k")
    signed = signer.sign("rb_user", "7", days=1)
    monkeypatch.setattr(time, "time", lambda: 10**12)
    assert signer.unsign("rb_user", signed) is None


def test_csrf_is_bound_to_voter_and_form() -> None:
    signer = Signer(b"k")
    token = signer.csrf("anon:ab", "vote:1")
    assert signer.check_csrf("anon:ab", "vote:1", token)
    assert not signer.check_csrf("anon:ab", "vote:2", token)
    assert not signer.check_csrf("user:1", "vote:1", token)
    assert not signer.check_csrf("anon:ab", "vote:1", None)


def test_key_file_is_created_once_and_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key = load_secret(None, home)
    assert len(key) == 64 and load_secret(None, home) == key
    assert (home / "secret_key").stat().st_mode & 0o777 == 0o600
    assert load_secret("configured", home) == b"configured"
    assert len(new_voter_session()) == 32 and new_voter_session() != new_voter_session()
