"""``syncer simulate``: serve the simulated Caseware Cloud API until interrupted.

Needs no configuration file: everything is an option with a usable default, and the credentials
it accepts are printed, since the point is to point a client (or curl) at it.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import click

from syncer.cli.context import run
from syncer.errors import Interrupted, Terminated
from syncer.simulator import ClientSpec, Keying, Limits, SimulatorConfig, serve_simulator
from syncer.simulator.dialect import Dialect

F = TypeVar("F", bound=Callable[..., Any])
DOCUMENTED = Dialect()

DIALECT_OPTIONS: tuple[Callable[[F], F], ...] = (
    click.option(
        "--first-page",
        type=click.IntRange(0, 1),
        default=DOCUMENTED.first_page,
        show_default=True,
        help="Number of the first page.",
    ),
    click.option(
        "--max-page-size",
        type=click.IntRange(1, 1000),
        default=DOCUMENTED.max_page_size,
        show_default=True,
        help="Largest pageSize served.",
    ),
    click.option(
        "--oversize-page",
        type=click.Choice(["refuse", "clamp"]),
        default=DOCUMENTED.oversize_page,
        show_default=True,
        help="What a pageSize above the maximum gets: 400, or the maximum.",
    ),
    click.option(
        "--default-page-size",
        type=click.IntRange(1, 1000),
        default=DOCUMENTED.default_page_size,
        show_default=True,
        help="Page size when none is asked.",
    ),
    click.option(
        "--search-quote-escape",
        type=click.Choice(["doubled", "backslash"]),
        default=DOCUMENTED.search_quote_escape,
        show_default=True,
        help="How a quote inside a search string is escaped.",
    ),
    click.option(
        "--rename",
        "renames",
        multiple=True,
        metavar="KIND.FIELD=NAME",
        help="Serve a documented field under another name (groups.BriefDescription=Description)",
    ),
    click.option(
        "--members-readable/--members-hidden",
        default=True,
        help="Whether GET groups/{id}/user-assignments exists.",
    ),
    click.option(
        "--role-reference",
        type=click.Choice(["Id", "CWGuid"]),
        default=DOCUMENTED.role_reference,
        show_default=True,
        help="What users' FirmWideRoleIds lists.",
    ),
    click.option(
        "--advertise-token-lifetime", is_flag=True, help="Put ExpiresIn in the token response."
    ),
    click.option(
        "--rename-header",
        "header_renames",
        multiple=True,
        metavar="HEADER=NAME",
        help="Send a rate-limit header under another name (x-ratelimit-remaining=RateLimit-Left).",
    ),
    click.option(
        "--not-found-status",
        type=click.IntRange(400, 499),
        default=DOCUMENTED.not_found_status,
        show_default=True,
        help="Status of the answer for an unknown CWGuid.",
    ),
    click.option(
        "--stable-order/--unstable-order",
        default=True,
        help="Whether lists keep one order across pages.",
    ),
)
"""How the served firm differs from docs/cloud-api.md: one flag per ``Dialect`` knob."""


def dialect_options(fn: F) -> F:
    for option in reversed(DIALECT_OPTIONS):
        fn = option(fn)
    return fn


def dialect_of(
    renames: tuple[str, ...], header_renames: tuple[str, ...] = (), **knobs: Any
) -> Dialect:
    """The ``Dialect`` of the flags; ``--rename`` arrives as ``KIND.FIELD=NAME``,
    ``--rename-header`` as ``HEADER=NAME``."""
    field_names: dict[str, dict[str, str]] = {}
    for rename in renames:
        documented, sep, served = rename.partition("=")
        kind, dot, name = documented.partition(".")
        if not (sep and dot and kind and name and served):
            raise click.BadParameter(f"{rename!r} is not KIND.FIELD=NAME", param_hint="--rename")
        field_names.setdefault(kind, {})[name] = served
    header_names: dict[str, str] = {}
    for rename in header_renames:
        documented, sep, served = rename.partition("=")
        if not (sep and documented and served):
            raise click.BadParameter(f"{rename!r} is not HEADER=NAME", param_hint="--rename-header")
        header_names[documented.lower()] = served
    return Dialect(field_names=field_names, header_names=header_names, **knobs)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, help="Port (0 picks a free one).")
@click.option("--firm", default="demo", show_default=True, help="Firm name in the URL path.")
@click.option("--client-id", default=None, help="API client id. Default: a random UUID.")
@click.option("--client-secret", default=None, help="API client secret. Default: random.")
@click.option("--replenish-rate", default=10, show_default=True, help="Tokens per second.")
@click.option("--burst-capacity", default=20, show_default=True, help="Bucket size.")
@click.option("--requested-tokens", default=1, show_default=True, help="Tokens per request.")
@click.option(
    "--keying",
    type=click.Choice([k.value for k in Keying]),
    default=Keying.CLIENT.value,
    show_default=True,
    help="One bucket per API client, per session, or per route family and client.",
)
@click.option(
    "--auth-limited/--auth-unlimited",
    default=True,
    show_default=True,
    help="Whether auth/token draws from the bucket.",
)
@click.option(
    "--token-lifetime",
    default=1800.0,
    show_default=True,
    help="Session lifetime in seconds (absolute).",
)
@click.option("--seed", default=0, show_default=True, help="Seed for CWGuids and fail-open.")
@dialect_options
def command(
    *,
    host: str,
    port: int,
    firm: str,
    client_id: str | None,
    client_secret: str | None,
    replenish_rate: int,
    burst_capacity: int,
    requested_tokens: int,
    keying: str,
    auth_limited: bool,
    token_lifetime: float,
    seed: int,
    **dialect: Any,
) -> None:
    """Serve the simulated Caseware Cloud API v2 (control plane under /_sim/)."""
    random_client = ClientSpec()
    client = ClientSpec(
        client_id or random_client.client_id, client_secret or random_client.client_secret
    )
    config = SimulatorConfig(
        firm=firm,
        clients=(client,),
        limits=Limits(
            replenish_rate=replenish_rate,
            burst_capacity=burst_capacity,
            requested_tokens=requested_tokens,
            keying=Keying(keying),
            auth_limited=auth_limited,
        ),
        dialect=dialect_of(**dialect),
        token_lifetime_seconds=token_lifetime,
        seed=seed,
    )

    async def serve() -> None:
        async with serve_simulator(config, host=host, port=port) as running:
            click.echo(f"Simulated Caseware Cloud API for firm {firm!r}")
            click.echo(f"  base URL:      {running.base_url}")
            click.echo(f"  API root:      {running.api_root}")
            click.echo(f"  client id:     {client.client_id}")
            click.echo(f"  client secret: {client.client_secret}")
            click.echo(f"  OpenAPI:       {running.base_url}/_sim/openapi.json")
            click.echo(
                f"  limits:        rate {replenish_rate}/s, burst {burst_capacity}, "
                f"{requested_tokens} token(s) per request, keyed per {keying}"
            )
            if changed := config.dialect.model_dump(exclude_defaults=True):
                click.echo(f"  dialect:       {changed}")
            click.echo("Press Ctrl+C to stop.")
            await _until_stopped()

    run(serve)


async def _until_stopped() -> None:
    """Serve until SIGINT or SIGTERM, then exit 130 or 143 with one line. Handled here rather
    than left to Python's defaults: a simulator started in the background by a script inherits
    SIGINT ignored (Python then installs no handler for it), and ``kill -INT`` never stopped it;
    SIGTERM ended it without a word."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for received in signals:
            if received == signal.SIGTERM:
                raise Terminated("simulator stopped by SIGTERM")
            raise Interrupted("simulator stopped by SIGINT")
