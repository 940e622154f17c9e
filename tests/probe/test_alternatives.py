"""``run_probe`` against a simulator behaving like each alternative to an ``[assumed]`` line.

For each: the probe names the difference and the setting that absorbs it, writes nothing, and
the configuration it writes makes a full ``apply`` reach the desired state, after which a second
run has nothing left to do and the probe finds every assumption holding.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

import pytest

from syncer.errors import ExitCode
from syncer.probe import ProbeReport, Verdict, run_probe
from syncer.probe.output import config_toml
from syncer.settings import Settings
from syncer.simulator import Keying, Limits, RunningSimulator
from syncer.simulator.dialect import Dialect
from syncer.usecases import ApplyOptions, apply_firm
from tests.apply.support import fill, settings_for, writes
from tests.fixtures.simulator import GENEROUS_LIMITS, SimulatorFactory
from tests.probe.firm import DESIRED, assert_firm_matches_desired, seed_firm

pytestmark = pytest.mark.anyio

MAX_REQUESTS = 100


DOCUMENTED_TO_RENAMED = {
    "x-ratelimit-burst-capacity": "X-Rate-Limit-Burst-Capacity",
    "x-ratelimit-replenish-rate": "X-Rate-Limit-Replenish-Rate",
    "x-ratelimit-requested-tokens": "X-Rate-Limit-Requested-Tokens",
    "x-ratelimit-remaining": "X-Rate-Limit-Remaining",
}
RENAMED_HEADERS = {
    "burst_capacity": "X-Rate-Limit-Burst-Capacity",
    "replenish_rate": "X-Rate-Limit-Replenish-Rate",
    "requested_tokens": "X-Rate-Limit-Requested-Tokens",
    "remaining": "X-Rate-Limit-Remaining",
}


@dataclass(frozen=True)
class Alternative:
    name: str
    check: str
    observed: str
    """A part of the check's ``observed`` text."""
    advised: dict[str, Any]
    """Exactly the settings the probe must advise (dotted under ``cloud``)."""
    dialect: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)
    token_lifetime_seconds: float = 1800.0
    verdict: Verdict = Verdict.DIFFERS
    """``holds`` for an informational check: reported, nothing to set."""


ALTERNATIVES = (
    Alternative("pages-from-0", "paging.first_page", "0 (page 0 is its own page)",
                {"api.first_page": 0}, dialect={"first_page": 0}),
    Alternative("page-cap-50-refused", "paging.max_page_size", "50 is the largest accepted",
                {"api.max_page_size": 50}, dialect={"max_page_size": 50}),
    Alternative("page-cap-40-clamped", "paging.max_page_size", "clamped: 40 entities",
                {"api.max_page_size": 40}, dialect={"max_page_size": 40, "oversize_page": "clamp"}),
    Alternative("backslash-quotes", "search.quote_escape", "backslash",
                {"api.search_quote_escape": "backslash"},
                dialect={"search_quote_escape": "backslash"}),
    Alternative("group-description-renamed", "fields.groups", "missing: BriefDescription",
                {"api.field_names.groups": {"BriefDescription": "Description"}},
                dialect={"field_names": {"groups": {"BriefDescription": "Description"}}}),
    Alternative("members-unreadable", "members.read", "405",
                {"api.members_readable": False}, dialect={"members_readable": False}),
    Alternative("roles-by-cwguid", "fields.users", "roles listed by CWGuid",
                {"api.user_roles_reference": "CWGuid"}, dialect={"role_reference": "CWGuid"}),
    Alternative("session-keying", "ratelimit.keying", "session (two sessions: separate buckets",
                {"api.ratelimit_keying": "session"}, limits={"keying": "session"}),
    Alternative("route-keying", "ratelimit.keying", "route (two sessions: one bucket",
                {"api.ratelimit_keying": "route"}, limits={"keying": "route"}),
    Alternative("auth-unlimited", "ratelimit.auth_limited", "false",
                {"api.auth_limited": False}, limits={"auth_limited": False}),
    Alternative("token-lifetime-stated", "auth.token", "states a lifetime of 900 s",
                {"api.token_lifetime_seconds": 900.0}, dialect={"advertise_token_lifetime": True},
                token_lifetime_seconds=900.0),
    Alternative("ratelimit-headers-renamed", "ratelimit.headers", "X-Rate-Limit-Remaining: ",
                {"api.ratelimit_headers": RENAMED_HEADERS},
                dialect={"header_names": {h.lower(): n for h, n in DOCUMENTED_TO_RENAMED.items()}}),
    Alternative("not-found-as-400", "errors.not_found", "400, a JSON object",
                {"api.not_found": {"status": 400, "message": "has CWGuid"}},
                dialect={"not_found_status": 400}),
    Alternative("order-unstable", "paging.stable_order", "entities in pages of 2 differ",
                {"api.stable_order": False}, dialect={"stable_order": False}),
    Alternative("default-page-size-40", "paging.default_page_size",
                "40, not the documented 25: harmless, syncer always sends pageSize", {},
                dialect={"default_page_size": 40}, verdict=Verdict.HOLDS),
)  # fmt: skip


async def probed_firm(
    factory: SimulatorFactory, alternative: Alternative | None = None
) -> RunningSimulator:
    chosen = alternative or Alternative("default", "", "", {})
    sim = await factory(
        dialect=Dialect(**chosen.dialect),
        limits=GENEROUS_LIMITS.updated(chosen.limits),
        token_lifetime_seconds=chosen.token_lifetime_seconds,
    )
    seed_firm(sim)
    return sim


def fitted_settings(sim: RunningSimulator, url: str, report: ProbeReport) -> Settings:
    """The settings a user has after merging the probe's ``--write-config`` file into theirs."""
    plain = settings_for(sim, url)
    written = tomllib.loads(config_toml(plain.cloud, report))
    return settings_for(sim, url, **written["cloud"])


def not_holding(report: ProbeReport) -> dict[str, str]:
    return {c.id: f"{c.verdict}: {c.observed}" for c in report.checks if c.verdict != "holds"}


async def test_every_check_holds_against_the_documented_api(
    simulator_factory: SimulatorFactory, url: str
) -> None:
    sim = await probed_firm(simulator_factory)
    report = await run_probe(settings_for(sim, url).cloud)
    assert not_holding(report) == {}
    assert report.exit_code == ExitCode.OK
    assert report.settings() == {}
    assert writes(sim) == 0
    assert report.requests <= MAX_REQUESTS


@pytest.mark.parametrize("alternative", ALTERNATIVES, ids=lambda a: a.name)
async def test_the_probe_finds_the_alternative_and_its_advice_makes_syncer_fit(
    simulator_factory: SimulatorFactory, url: str, alternative: Alternative
) -> None:
    sim = await probed_firm(simulator_factory, alternative)

    report = await run_probe(settings_for(sim, url).cloud)

    found = {c.id: c for c in report.checks}[alternative.check]
    assert found.verdict is alternative.verdict, found
    assert alternative.observed in found.observed
    differing = alternative.verdict is Verdict.DIFFERS
    assert set(not_holding(report)) == ({alternative.check} if differing else set())
    assert report.settings() == alternative.advised
    assert report.exit_code == (ExitCode.CHANGES_PENDING if differing else ExitCode.OK)
    assert writes(sim) == 0, "the probe must only read"
    assert report.requests <= MAX_REQUESTS

    settings = fitted_settings(sim, url, report)
    assert not_holding(await run_probe(settings.cloud)) == {}

    await fill(url, DESIRED)
    applied = await apply_firm(settings, ApplyOptions())
    assert applied.exit_code == ExitCode.OK, applied.message
    assert_firm_matches_desired(sim)
    again = await apply_firm(settings, ApplyOptions())
    assert again.exit_code == ExitCode.OK, again.message
    if alternative.advised.get("api.members_readable") is False:
        # Unseen members are added again (harmlessly) and never removed.
        assert set(again.counts) == {"group_members"}
        assert set(again.counts["group_members"]) == {"add"}
    else:
        assert again.counts == {}
    assert_firm_matches_desired(sim)


@pytest.mark.parametrize(
    "limits",
    [
        Limits(replenish_rate=10, burst_capacity=20, keying=Keying.ROUTE),
        Limits(replenish_rate=50, burst_capacity=90, requested_tokens=3, keying=Keying.SESSION),
    ],
    ids=["route-at-10-per-second", "session-at-3-tokens-a-request"],
)
async def test_keying_is_found_under_tight_limits_too(
    simulator_factory: SimulatorFactory, url: str, limits: Limits
) -> None:
    sim = await simulator_factory(limits=limits)
    seed_firm(sim)
    report = await run_probe(settings_for(sim, url).cloud)
    assert report.settings() == {"api.ratelimit_keying": limits.keying.value}
    assert set(not_holding(report)) == {"ratelimit.keying"}
    assert writes(sim) == 0
