"""The ``affectline`` command: the analysis commands plus the service's (serve, worker, keys, db).

The analysis commands live in ``multimodal/cli.py``, which knows nothing of the service; this
module adds the service's commands to the same Typer app, so that the dependency points from
``api`` to the core and never back.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session, sessionmaker

from multimodal.cli import _fail, _quiet_native_logs, _settings, app
from multimodal.errors import AffectlineError

keys = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)
db = typer.Typer(help="The job store's database.", no_args_is_help=True)
app.add_typer(keys, name="keys")
app.add_typer(db, name="db")


def _sessions() -> sessionmaker[Session]:
    from api.database import make_engine, session_factory, upgrade

    settings = _settings()
    try:
        engine = make_engine(settings.database)
        upgrade(engine)
    except AffectlineError as e:
        raise _fail(str(e)) from None
    except Exception as e:
        raise _fail(f"cannot open the database ({type(e).__name__}: {e}); check "
                    "AFFECTLINE_DATABASE_URL or AFFECTLINE_DATA_DIR") from None  # fmt: skip
    return session_factory(engine)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    workers: Annotated[
        int | None, typer.Option(help="In-process worker processes (default: one per core).")
    ] = None,
) -> None:
    """Start the HTTP API and the web page (SQLite and in-process workers by default)."""
    _quiet_native_logs()
    import uvicorn

    from api.app import create_app

    settings = _settings(host=host, port=port, workers=workers)
    _sessions()  # a clear error now for a database that cannot be reached or upgraded
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        application = create_app(settings)
    except AffectlineError as e:
        raise _fail(str(e)) from None
    mode = "Celery at " + settings.broker_url if settings.broker_url else (
        f"{settings.workers} in-process worker(s)")  # fmt: skip
    typer.echo(f"Affectline on http://{settings.host}:{settings.port}/ ({mode}; data in "
               f"{settings.data_dir})", err=True)  # fmt: skip
    uvicorn.run(application, host=settings.host, port=settings.port, log_level="info",
                timeout_graceful_shutdown=15)  # fmt: skip


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Jobs at a time (default: AFFECTLINE_WORKERS).")
    ] = None,
) -> None:
    """Run a Celery worker (needs AFFECTLINE_BROKER_URL and a shared database and data folder)."""
    _quiet_native_logs()
    settings = _settings()
    if not settings.broker_url:
        raise _fail("set AFFECTLINE_BROKER_URL (e.g. redis://localhost:6379/0) to run Celery "
                    "workers; without it, 'affectline serve' runs jobs itself")  # fmt: skip
    _sessions()  # the schema is up to date before the first job
    from api.tasks import run_worker

    run_worker(settings, concurrency or max(1, settings.workers))


@keys.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="Who or what the key is for.")],
) -> None:
    """Create an API key; it is printed once and stored only as a hash."""
    from api.jobs import create_key

    if not name.strip():
        raise _fail("give the key a --name")
    with _sessions()() as session:
        key, plain = create_key(session, name.strip())
        typer.echo(f"key:            {plain}")
        typer.echo(f"id:             {key.id}")
        typer.echo(f"webhook secret: {key.webhook_secret}")
    typer.echo("Keep the key now: it cannot be shown again. Send it as "
               "'Authorization: Bearer KEY'.", err=True)  # fmt: skip


@keys.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List API keys (never the keys themselves)."""
    from sqlalchemy import select

    from api.db import ApiKey

    with _sessions()() as session:
        rows: list[dict[str, Any]] = [
            {
                "id": k.id,
                "name": k.name,
                "prefix": k.prefix,
                "created_at": k.created_at.isoformat(),
                "revoked": k.revoked_at is not None,
            }  # fmt: skip
            for k in session.scalars(select(ApiKey).order_by(ApiKey.created_at))
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
        return
    for r in rows:
        state = "revoked" if r["revoked"] else "active"
        typer.echo(f"{r['id']}  {r['prefix']}...  {state:8} {r['created_at'][:19]}  {r['name']}")


@keys.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (keys list).")]) -> None:
    """Revoke an API key: it stops working at once."""
    from api.jobs import revoke_key

    with _sessions()() as session:
        if not revoke_key(session, key_id):
            raise _fail(f"no active key with id {key_id}; see affectline keys list")
    typer.echo(f"revoked {key_id}")


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    from api.database import current_revision, make_engine, redact

    _sessions()
    settings = _settings()
    typer.echo(f"{redact(settings.database)} at revision "
               f"{current_revision(make_engine(settings.database))}")  # fmt: skip


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
