"""Without chromium the browser tests skip, except in CI (``SYNCER_REQUIRE_BROWSER=1``)."""

from __future__ import annotations

import pytest

from tests.browser import chromium


def test_no_chromium_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chromium, "CANDIDATES", ("/nonexistent/chromium",))
    monkeypatch.delenv(chromium.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        chromium.chromium_or_skip()


def test_no_chromium_fails_when_ci_requires_the_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chromium, "CANDIDATES", ("/nonexistent/chromium",))
    monkeypatch.setenv(chromium.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="SYNCER_REQUIRE_BROWSER"):
        chromium.chromium_or_skip()
