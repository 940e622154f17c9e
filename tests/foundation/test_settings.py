"""Configuration: the TOML file, environment overrides, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncer.errors import ConfigError, ExitCode
from syncer.settings import deprecated_keys, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "syncer.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_values_and_env_overrides_merge_per_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, '[cloud]\nfirm = "acme"\nregion = "ca"\nclient_id = "abc"\n')
    monkeypatch.setenv("SYNCER_CLOUD__REGION", "eu")
    monkeypatch.setenv("SYNCER_CLOUD__CLIENT_SECRET", "s3cr3t")
    settings = load_settings(path)
    assert settings.cloud.firm == "acme"  # from the file, untouched by the env
    assert settings.cloud.region == "eu"  # the env wins over the file
    assert settings.cloud.client_secret.get_secret_value() == "s3cr3t"
    assert settings.cloud.api_root == "https://eu.casewarecloud.com/acme/ms/caseware-cloud/api/v2/"


def test_base_url_replaces_scheme_and_host_but_keeps_the_path(tmp_path: Path) -> None:
    path = write(tmp_path, '[cloud]\nfirm = "demo"\nbase_url = "http://127.0.0.1:8080/"\n')
    settings = load_settings(path)
    assert settings.cloud.api_root == "http://127.0.0.1:8080/demo/ms/caseware-cloud/api/v2/"


def test_config_path_can_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, '[database]\nurl = "sqlite+aiosqlite:///x.db"\n')
    monkeypatch.setenv("SYNCER_CONFIG", str(path))
    settings = load_settings()
    assert settings.database.url == "sqlite+aiosqlite:///x.db"


def test_an_unknown_environment_override_of_a_known_section_is_ignored_not_fatal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYNCER_TEST_DATABASE_URL", "postgresql://elsewhere")
    assert load_settings().database.url.startswith("sqlite")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[cloud]\nfrim = "typo"\n', "cloud.frim: unknown key"),
        ('[clod]\nfirm = "x"\n', "clod: unknown key"),
        ('[cloud]\npool_size = "many"\n', "cloud.pool_size"),
        ("[cloud]\npool_size = 0\n", "cloud.pool_size"),
        ('[sync]\nmodes = { users = "sometimes" }\n', "sync.modes.users"),
        ("[cloud.api]\nfirst_page = 2\n", "cloud.api.first_page"),
        ('[cloud.api]\nfield_names = { clients = { Name = "X" } }\n', "cloud.api.field_names"),
        ('[cloud.api]\nfield_names = { groups = { BriefDesc = "X" } }\n', "no documented field"),
    ],
)
def test_a_bad_key_exits_78_naming_it(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    assert caught.value.exit_code is ExitCode.CONFIG
    assert named in str(caught.value)


def test_invalid_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[cloud\n"))
    with pytest.raises(ConfigError, match="cannot read configuration file"):
        load_settings(tmp_path / "absent.toml")


def test_a_rejected_secret_value_is_not_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, '[cloud]\nclient_secret = ["hunter2-very-secret"]\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "cloud.client_secret" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_secret_file_is_read_and_never_shown_in_repr(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n", encoding="utf-8")
    path = write(tmp_path, f'[cloud]\nclient_secret_file = "{secret_file}"\n')
    settings = load_settings(path)
    assert settings.cloud.client_secret.get_secret_value() == "from-a-file"
    assert "from-a-file" not in repr(settings)
    assert "from-a-file" not in str(settings.model_dump())


def test_unreadable_secret_file_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, f'[cloud]\nclient_secret_file = "{tmp_path / "nope"}"\n')
    with pytest.raises(ConfigError, match="cloud"):
        load_settings(path)


def test_example_configuration_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "example.toml"
    settings = load_settings(example)
    assert settings.cloud.firm == "myfirm"


OLD_LIFETIME = "cloud.token_lifetime_seconds"
NEW_LIFETIME = "cloud.api.token_lifetime_seconds"


@pytest.mark.parametrize(
    "text",
    [
        "[cloud]\ntoken_lifetime_seconds = 900\n",
        "[cloud]\ntoken_lifetime_seconds = 900\n[cloud.api]\ntoken_lifetime_seconds = 900\n",
        '[[firms]]\nname = "a"\n[firms.cloud]\ntoken_lifetime_seconds = 900\n',
    ],
    ids=["old-key-alone", "both-agreeing", "old-key-in-a-firm"],
)
def test_the_moved_token_lifetime_is_still_read_from_its_old_key(tmp_path: Path, text: str) -> None:
    settings = load_settings(write(tmp_path, text))
    (firm,) = settings.firm_configs()
    assert firm.settings.cloud.api.token_lifetime_seconds == 900
    assert deprecated_keys(settings) == [(OLD_LIFETIME, NEW_LIFETIME)]


def test_the_old_lifetime_key_works_from_the_environment_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYNCER_CLOUD__TOKEN_LIFETIME_SECONDS", "600")
    settings = load_settings()
    assert settings.cloud.api.token_lifetime_seconds == 600
    assert deprecated_keys(settings) == [(OLD_LIFETIME, NEW_LIFETIME)]


def test_the_new_lifetime_key_alone_is_not_deprecated(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "[cloud.api]\ntoken_lifetime_seconds = 700\n"))
    assert settings.cloud.api.token_lifetime_seconds == 700
    assert deprecated_keys(settings) == []
    assert load_settings().cloud.api.token_lifetime_seconds == 1800


def test_old_and_new_lifetime_keys_that_disagree_exit_78_naming_both(tmp_path: Path) -> None:
    text = "[cloud]\ntoken_lifetime_seconds = 900\n[cloud.api]\ntoken_lifetime_seconds = 600\n"
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    assert caught.value.exit_code == ExitCode.CONFIG
    assert OLD_LIFETIME in str(caught.value)
    assert f"keep only {NEW_LIFETIME}" in str(caught.value)
