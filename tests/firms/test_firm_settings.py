"""``[[firms]]``: several firms in one file, each a complete single-firm configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncer.errors import ConfigError, ExitCode, UsageError
from syncer.settings import load_settings

TWO_FIRMS = """
[database]
url = "sqlite+aiosqlite:///shared.db"

[sync]
retire_threshold_count = 7

[[firms]]
name = "acme"
[firms.cloud]
client_id = "acme-client"
client_secret_env = "ACME_SECRET"

[[firms]]
name = "beta"
[firms.cloud]
firm = "beta-llp"
region = "ca"
client_id = "beta-client"
client_secret_env = "BETA_SECRET"
[firms.database]
url = "sqlite+aiosqlite:///beta.db"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "syncer.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_each_firm_becomes_a_single_firm_settings_with_its_own_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_SECRET", "acme-s3cret")
    monkeypatch.setenv("BETA_SECRET", "beta-s3cret")
    acme, beta = load_settings(write(tmp_path, TWO_FIRMS)).select_firms()

    assert acme.name == "acme"
    assert acme.settings.cloud.firm == "acme"  # defaults to the firm's name
    assert acme.settings.cloud.client_secret.get_secret_value() == "acme-s3cret"
    assert acme.settings.database.url.endswith("shared.db")  # the top-level section
    assert acme.settings.sync.retire_threshold_count == 7
    assert acme.settings.firms == ()

    assert beta.settings.cloud.firm == "beta-llp"
    assert beta.settings.cloud.api_root.startswith("https://ca.casewarecloud.com/beta-llp/")
    assert beta.settings.cloud.client_secret.get_secret_value() == "beta-s3cret"
    assert beta.settings.database.url.endswith("beta.db")  # its own override


def test_the_single_cloud_form_is_one_firm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCER_CLOUD__CLIENT_SECRET", "solo-s3cret")
    settings = load_settings(write(tmp_path, '[cloud]\nfirm = "solo"\nclient_id = "x"\n'))
    (only,) = settings.select_firms()
    assert only.name == "solo"
    assert only.settings is settings
    assert settings.select_firms("solo") == (only,)


def test_firm_selects_one_and_an_unknown_name_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BETA_SECRET", "beta-s3cret")
    settings = load_settings(write(tmp_path, TWO_FIRMS))
    assert [f.name for f in settings.select_firms("beta")] == ["beta"]
    with pytest.raises(UsageError, match="configured: acme, beta") as caught:
        settings.select_firms("gamma")
    assert caught.value.exit_code is ExitCode.USAGE


def test_an_unset_secret_variable_fails_only_the_firm_that_needs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACME_SECRET", raising=False)
    monkeypatch.setenv("BETA_SECRET", "beta-s3cret")
    settings = load_settings(write(tmp_path, TWO_FIRMS))
    assert settings.select_firms("beta")  # acme's missing secret does not matter here
    with pytest.raises(ConfigError, match="ACME_SECRET, which is not set") as caught:
        settings.select_firms()
    assert caught.value.exit_code is ExitCode.CONFIG


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[cloud]\nfirm = "x"\n[[firms]]\nname = "a"\n', "either [cloud]"),
        ('[[firms]]\nname = "a"\n[[firms]]\nname = "a"\n', "repeated: a"),
        ('[[firms]]\nname = "a"\nfrim = "typo"\n', "firms.0.frim: unknown key"),
        ('[[firms]]\nname = "a"\n[firms.cloud]\npool_size = 0\n', "firms.0.cloud.pool_size"),
    ],
)
def test_mistakes_in_firms_are_config_errors_naming_the_key(
    tmp_path: Path, text: str, named: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    assert named in str(caught.value)


def test_a_firm_secret_never_shows_in_a_repr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_SECRET", "acme-s3cret")
    monkeypatch.setenv("BETA_SECRET", "beta-s3cret")
    settings = load_settings(write(tmp_path, TWO_FIRMS))
    assert "s3cret" not in repr(settings.select_firms())
