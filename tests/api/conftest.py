"""Fixtures for the service: an app on a fresh SQLite store and data folder, and API keys."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.database import make_engine, session_factory, upgrade
from api.jobs import create_key
from api.worker import Context
from multimodal.settings import Settings, load_settings


@dataclass
class Service:
    settings: Settings
    client: TestClient
    ctx: Context
    key: str
    other_key: str
    secret: str

    def headers(self, key: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}", **extra}

    def upload(self, path: Path, key: str | None = None, headers: dict[str, str] | None = None,
               **fields: Any) -> Any:  # fmt: skip
        with path.open("rb") as f:
            return self.client.post(
                "/v1/jobs",
                files={"file": (path.name, f, "application/octet-stream")},
                data={k: str(v) for k, v in fields.items()},
                headers={**self.headers(key), **(headers or {})},
            )


def make_service(tmp_path: Path, **overrides: Any) -> Iterator[Service]:
    settings = load_settings(data_dir=tmp_path / "data", workers=0, **overrides)
    engine = make_engine(settings.database)
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions() as s:
        key, plain = create_key(s, "tests")
        _, other = create_key(s, "someone else")
        secret = key.webhook_secret
    app = create_app(settings, start_workers=False)
    with TestClient(app) as client:
        yield Service(settings, client, Context(settings, sessions), plain, other, secret)
    engine.dispose()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    yield from make_service(tmp_path)
