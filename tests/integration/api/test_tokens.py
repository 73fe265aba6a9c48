"""``/api/v1/tokens``: admins list tokens (prefix, last use, expiry), create and revoke them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.webserver import Server, sqlite_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with sqlite_server(tmp_path_factory.mktemp("tokens")) as server:
        yield server


def test_admins_list_create_and_revoke_tokens(server: Server) -> None:
    with server.client() as anon, server.client("alice") as alice:
        assert anon.get("/api/v1/tokens").status_code == 401
        assert alice.get("/api/v1/tokens").status_code == 403
        assert alice.post("/api/v1/tokens", json={"user": "alice"}).status_code == 403
    with server.client("admin") as admin:
        listed = admin.get("/api/v1/tokens").json()
        assert {t["user"] for t in listed} == {"admin", "alice", "bob"}
        assert all(t["active"] and not t["revoked"] and t["expires_at"] for t in listed)
        assert {t["prefix"] for t in listed} == {token[:8] for token in server.tokens.values()}
        assert not any(token in admin.get("/api/v1/tokens").text for token in server.tokens.values())
        mine = next(t for t in listed if t["user"] == "admin")
        assert mine["last_used_at"] is not None  # this very request authenticated with it

        created = admin.post("/api/v1/tokens", json={"user": "bob", "days": 0})
        assert created.status_code == 201, created.text
        token, info = created.json()["token"], created.json()["info"]
        assert info["prefix"] == token[:8] and info["expires_at"] is None and info["user"] == "bob"
        with server.client() as c:
            headers = {"Authorization": f"Bearer {token}"}
            assert c.get("/api/v1/benchmarks", headers=headers).status_code == 200
            assert admin.delete(f"/api/v1/tokens/{info['id']}").status_code == 204
            refused = c.get("/api/v1/benchmarks", headers=headers)
            assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
        assert admin.get("/api/v1/tokens", params={"user": "bob"}).json()[-1]["revoked"] is True
        assert admin.get("/api/v1/tokens", params={"user": "nobody"}).status_code == 404
        assert admin.post("/api/v1/tokens", json={"user": "bob", "days": -1}).status_code == 400
        assert admin.post("/api/v1/tokens", json={"user": "nobody"}).status_code == 404
        assert admin.delete("/api/v1/tokens/999999").status_code == 404
