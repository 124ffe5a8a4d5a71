"""Celery, for when one machine is not enough: the same :func:`api.worker.run_job` as a task.

The API sends ``affectline.run_job(job_id)`` to the broker; ``affectline worker`` runs a Celery
worker whose processes each load the models once. Delivery is at-least-once (``acks_late``),
and the database claim in ``run_job`` makes a second delivery of the same job a no-op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from api.worker import Context, run_job
from multimodal.settings import Settings, load_settings

_context: Context | None = None


def make_celery(settings: Settings) -> Celery:
    app = Celery("affectline", broker=settings.broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="affectline",
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )

    @app.task(name="affectline.run_job", ignore_result=True)  # type: ignore[untyped-decorator]
    def run(job_id: str) -> str | None:
        return run_job(context(), job_id)

    return app


def context() -> Context:
    """This worker process's context (settings from the environment, models loaded lazily)."""
    global _context
    if _context is None:
        _context = Context.from_settings(load_settings())
    return _context


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _fresh_context(**_: Any) -> None:
    global _context
    _context = None  # forked children open their own database connections


def celery_dispatch(settings: Settings) -> Callable[[str], None]:
    app = make_celery(settings)

    def send(job_id: str) -> None:
        app.send_task("affectline.run_job", args=[job_id])

    return send


def run_worker(settings: Settings, concurrency: int) -> None:
    """Run a Celery worker in this process until it is stopped."""
    app = make_celery(settings)
    app.worker_main(["worker", "--loglevel=INFO", f"--concurrency={concurrency}",
                     "--pool=prefork", "-Q", "affectline"])  # fmt: skip
