"""The session's real PostgreSQL and Redis servers answer (fixtures in ``tests/services.py``)."""

from __future__ import annotations

import uuid

import pytest


def test_postgres_answers_through_sqlalchemy(postgres_url: str) -> None:
    from sqlalchemy import create_engine, text

    assert postgres_url.startswith("postgresql+psycopg://")
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select 1")).scalar_one() == 1
            assert conn.execute(text("select current_database()")).scalar_one() == (
                "affectline_test"
            )
    finally:
        engine.dispose()


def test_redis_sets_and_gets(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    key = f"affectline-test:{uuid.uuid4().hex}"
    try:
        assert client.set(key, b"value", ex=60)
        assert client.get(key) == b"value"
    finally:
        client.delete(key)
        client.close()


@pytest.mark.parametrize("ci", ["true", "1"])
def test_missing_server_fails_in_ci(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    from tests import services

    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        services._unavailable("redis-server is not installed")


def test_missing_server_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests import services

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        services._unavailable("redis-server is not installed")
