"""The README's configuration reference is the generated one, so it cannot drift from the code."""

from __future__ import annotations

from pathlib import Path

from syncer.settings import Settings
from syncer.settings_doc import main, render, replace_section, section

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_holds_the_current_configuration_reference() -> None:
    assert section() in README.read_text(encoding="utf-8"), (
        "README.md's configuration reference is stale: run "
        "`.venv/bin/python -m syncer.settings_doc --write README.md`"
    )


def test_every_top_level_key_and_section_key_is_documented() -> None:
    table = render()
    for name, info in Settings.model_fields.items():
        annotation = info.annotation
        sub = getattr(annotation, "model_fields", None)
        if sub is None:
            assert f"`{name}" in table
        else:
            for field_name in sub:
                assert f"| `{name}.{field_name}` |" in table


def test_write_replaces_only_the_generated_block(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# title\n\nbefore\n{section().replace('cloud.region', 'STALE.region')}\nafter\n"
    )
    assert main(["--write", str(readme)]) == 0
    text = readme.read_text()
    assert text == replace_section(text)
    assert text.startswith("# title\n\nbefore\n")
    assert text.endswith("\nafter\n")
    assert "STALE" not in text
