"""Without PostgreSQL the suite still passes and its last words say plainly what it skipped, run
in one process or spread over workers as ``make test`` does (the skips happen in the workers,
the note is written by the controller)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.databases import DSN_ENV, REQUIRE_ENV

ROOT = Path(__file__).parents[1]

INNER = """
def test_needs_postgresql(postgres_url):
    raise AssertionError("must not run without PostgreSQL")

def test_needs_nothing():
    pass
"""


@pytest.mark.parametrize("spread", [(), ("-n", "1")], ids=["one-process", "xdist"])
def test_a_run_without_postgresql_passes_and_says_it_skipped_those_tests(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, spread: tuple[str, ...]
) -> None:
    monkeypatch.delenv(DSN_ENV, raising=False)
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest_subprocess("-p", "tests.fixtures.databases", *spread)
    result.assert_outcomes(passed=1, skipped=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [f"NOTE: 1 PostgreSQL tests were SKIPPED because {DSN_ENV} is not set; they did not run."]
    )
