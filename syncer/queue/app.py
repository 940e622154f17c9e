"""The procrastinate ``App`` over syncer's PostgreSQL database, and how a firm's job is addressed.

A firm job's ``lock`` is the firm: procrastinate never starts a job while another job with the same
lock is running, so a firm never runs twice at once however many workers there are (the run lock
stays as the last line of defence). Its ``queueing_lock`` is action and firm: a firm has at most
one apply and one plan waiting. Its queue is the firm's own, so ``syncer worker --firm NAME``
listens to exactly the firms it was given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

import procrastinate
from procrastinate.exceptions import ConnectorException
from procrastinate.tasks import ConfigureTaskOptions
from sqlalchemy.engine import make_url

from syncer.errors import ConfigError
from syncer.queue.schema import QUEUE_SCHEMA
from syncer.settings import Settings
from syncer.store.db import DatabaseError, database_errors, first_line

FIRM_TASK: Final = "syncer.firm"
"""The one task name: a firm's run; its ``action`` (apply, plan) is an argument."""
FIRM_ACTIONS: Final = ("apply", "plan")
"""What a job can do to a firm: ``syncer queue`` offers exactly these, named here so that queueing
does not import the engine that runs them (``syncer.queue.runner.ACTIONS``, about a second of
imports per ``syncer queue``)."""


class QueueNeedsPostgres(ConfigError):
    """``worker`` and ``queue`` on a SQLite configuration (exit 78)."""


def queue_database_url(settings: Settings) -> str:
    """The database holding the queue (the top-level ``[database]``); PostgreSQL only."""
    url = settings.database.url
    if make_url(url).get_backend_name() != "postgresql":
        raise QueueNeedsPostgres(
            "the job queue (syncer worker, syncer queue) needs PostgreSQL: set database.url "
            "to a postgresql+psycopg:// URL and run `syncer db upgrade`; on one machine, "
            "`syncer apply` needs no queue"
        )
    return url


def build_app(url: str, *, max_connections: int) -> procrastinate.App:
    """An app whose connections see the queue's schema first (``search_path``)."""
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo,
        kwargs={"options": f"-c search_path={QUEUE_SCHEMA}"},
        min_size=1,
        max_size=max_connections,
    )
    return procrastinate.App(connector=connector)


def firm_queue(firm: str) -> str:
    return f"firm.{firm}"


def firm_job_options(firm: str, action: str) -> ConfigureTaskOptions:
    """Lock, queueing lock, queue and arguments of a firm's job, deferred or periodic."""
    return ConfigureTaskOptions(
        lock=f"firm:{firm}",
        queueing_lock=f"{action}:{firm}",
        queue=firm_queue(firm),
        task_kwargs={"firm": firm, "action": action},
    )


@asynccontextmanager
async def queue_errors() -> AsyncIterator[None]:
    """A database failure met through procrastinate or SQLAlchemy becomes one line (exit 1)."""
    async with database_errors():
        try:
            yield
        except ConnectorException as exc:
            cause = exc.__cause__ or exc
            raise DatabaseError(f"queue database error: {first_line(cause)}") from exc
