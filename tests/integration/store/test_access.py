"""Users and API tokens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import LargeBinary, select, update

from ragbench.errors import AuthError, ConflictError, InputError, NotFoundError
from ragbench.store import service
from ragbench.store.models import ApiToken, Base, User


def test_create_user_roles_and_conflicts(run_in: Callable[..., object]) -> None:
    alice = run_in(service.create_user, "alice")
    root = run_in(service.create_user, "  root ", role="admin")
    assert (alice.name, alice.role, alice.is_admin) == ("alice", "member", False)
    assert (root.name, root.is_admin) == ("root", True)
    assert alice.created_at.tzinfo is not None
    with pytest.raises(ConflictError, match="exists"):
        run_in(service.create_user, "alice")
    with pytest.raises(InputError, match="role"):
        run_in(service.create_user, "carol", role="owner")
    for bad in ("", "   ", "x" * 101, "tab\there"):
        with pytest.raises(InputError):
            run_in(service.create_user, bad)


def test_token_round_trip_and_hashing(factory, run_in: Callable[..., object]) -> None:
    run_in(service.create_user, "alice")
    token = run_in(service.create_token, "alice")
    assert token.startswith("rb_") and len(token) > 40
    assert run_in(service.authenticate, token).name == "alice"
    assert run_in(service.authenticate, f"  {token}\n").name == "alice"

    # Only the hash is stored: the plain token is in no column of any table.
    with factory() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(select(table)).all():
                for column, value in zip(table.columns, row, strict=True):
                    if isinstance(column.type, LargeBinary) or value is None:
                        continue
                    assert token not in str(value), f"{table.name}.{column.name} holds the token"
        stored = s.scalars(select(ApiToken)).one()
        assert stored.prefix == token[:8]
        assert len(stored.token_hash) == 64 and stored.token_hash != token


def test_authenticate_refuses_unknown_empty_and_revoked(factory, run_in: Callable[..., object]) -> None:
    run_in(service.create_user, "alice")
    token = run_in(service.create_token, "alice")
    for bad in ("", "   ", "rb_nope", token + "x"):
        with pytest.raises(AuthError):
            run_in(service.authenticate, bad)
    with factory() as s, s.begin():
        s.execute(update(ApiToken).values(revoked=True))
    with pytest.raises(AuthError, match="revoked"):
        run_in(service.authenticate, token)


def test_authenticate_records_last_use_at_most_once_a_minute(factory, run_in: Callable[..., object]) -> None:
    run_in(service.create_user, "alice")
    token = run_in(service.create_token, "alice")
    run_in(service.authenticate, token)
    with factory() as s:
        first = s.scalars(select(ApiToken.last_used_at)).one()
    assert first is not None
    run_in(service.authenticate, token)
    with factory() as s:
        assert s.scalars(select(ApiToken.last_used_at)).one() == first
    with factory() as s, s.begin():
        s.execute(update(ApiToken).values(last_used_at=first - timedelta(minutes=5)))
    run_in(service.authenticate, token)
    with factory() as s:
        assert s.scalars(select(ApiToken.last_used_at)).one() >= first


def test_token_for_unknown_user(run_in: Callable[..., object]) -> None:
    with pytest.raises(NotFoundError, match="no user"):
        run_in(service.create_token, "nobody")


def test_local_admin_is_the_first_admin_or_a_new_one(factory, run_in: Callable[..., object]) -> None:
    run_in(service.create_user, "alice")
    made = run_in(service.local_admin)
    assert (made.name, made.role) == ("admin", "admin")
    assert run_in(service.local_admin).id == made.id
    with factory() as s:
        assert len(s.scalars(select(User)).all()) == 2


def test_tokens_expire_and_can_be_listed_and_revoked(
    factory, users: dict[str, User], run_in: Callable[..., object]
) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from ragbench.store.models import ApiToken

    forever = run_in(service.create_token, "alice", 0)
    yearly = run_in(service.create_token, "alice")  # RAGBENCH_TOKEN_DAYS, default 365
    bobs = run_in(service.create_token, "bob", 2)
    assert run_in(service.authenticate, yearly).name == "alice"  # notes the last use
    listed = {t.prefix: t for t in run_in(service.list_tokens, "alice")}
    assert set(listed) == {forever[:8], yearly[:8]}
    assert listed[forever[:8]].expires_at is None and listed[forever[:8]].last_used_at is None
    year = listed[yearly[:8]].expires_at - listed[yearly[:8]].created_at
    assert year == timedelta(days=365) and listed[yearly[:8]].last_used_at is not None
    assert all(t.active for t in listed.values()) and len(run_in(service.list_tokens)) == 3

    with factory() as s, s.begin():  # two days later bob's token has expired
        s.execute(
            update(ApiToken)
            .where(ApiToken.prefix == bobs[:8])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    with pytest.raises(AuthError, match="expired on"):
        run_in(service.authenticate, bobs)
    assert not run_in(service.list_tokens, "bob")[0].active

    revoked = run_in(service.revoke_tokens, "alice", prefix=yearly[:8])
    assert [t.prefix for t in revoked] == [yearly[:8]] and revoked[0].revoked
    with pytest.raises(AuthError, match="revoked"):
        run_in(service.authenticate, yearly)
    assert run_in(service.authenticate, forever).name == "alice"
    assert [t.prefix for t in run_in(service.revoke_tokens, "alice")] == [forever[:8]]
    assert run_in(service.revoke_tokens, "alice") == []  # nothing left to revoke
    with pytest.raises(NotFoundError):
        run_in(service.revoke_tokens, "alice", prefix="rb_nope")
    with pytest.raises(InputError):
        run_in(service.create_token, "alice", -1)
