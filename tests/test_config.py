"""Settings: declared once, documented in the README, environment over file, clear errors."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from newsletter.config import declared_settings, find_workspace, load_settings
from newsletter.errors import ConfigurationError
from newsletter.workspace import STARTER_IDENTITY, settings_toml

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [info.env for info in declared_settings() if f"`{info.env}`" not in readme]
    assert missing == [], f"settings missing from README.md: {missing}"


def test_every_setting_has_help() -> None:
    assert [info.key for info in declared_settings() if not info.help.strip()] == []


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "newsletter.toml"
    path.write_text('timezone = "America/Vancouver"\n[brand]\nname = "Fichier"\n', "utf-8")
    settings = load_settings(
        path,
        environ={"NEWSLETTER_BRAND_NAME": "Environnement", "NEWSLETTER_FETCH_TIMEOUT": "2.5"},
    )
    assert settings.timezone == "America/Vancouver"
    assert settings.brand.name == "Environnement"
    assert settings.fetch.timeout == 2.5


def test_table_settings_take_json_in_the_environment() -> None:
    settings = load_settings(
        None, environ={"NEWSLETTER_BRAND_SOCIAL": '{"facebook": "https://example.org/fb"}'}
    )
    assert settings.brand.social == {"facebook": "https://example.org/fb"}
    with pytest.raises(ConfigurationError, match="NEWSLETTER_BRAND_SOCIAL"):
        load_settings(None, environ={"NEWSLETTER_BRAND_SOCIAL": "facebook"})


def test_a_wrong_value_names_the_setting_and_its_variable(tmp_path: Path) -> None:
    path = tmp_path / "newsletter.toml"
    path.write_text("[fetch]\ntimeout = -1\n", "utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(path, environ={})
    assert "fetch.timeout" in str(caught.value)
    assert "NEWSLETTER_FETCH_TIMEOUT" in str(caught.value)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NEWSLETTER_TIMEZONE", "Montreal"),
        ("NEWSLETTER_DEFAULT_LANGUAGE", "de"),
        ("NEWSLETTER_TRANSPORT", "pigeon"),
    ],
)
def test_values_outside_their_domain_are_refused(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        load_settings(None, environ={variable: value})


def test_a_typo_in_the_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newsletter.toml"
    path.write_text("[brand]\nnmae = 'x'\n", "utf-8")
    with pytest.raises(ConfigurationError, match=r"brand\.nmae"):
        load_settings(path, environ={})


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "newsletter.toml"
    path.write_text("timezone = \n", "utf-8")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_settings(path, environ={})


def test_the_workspace_is_found_upward(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSLETTER_HOME", raising=False)
    (tmp_path / "newsletter.toml").write_text("", "utf-8")
    deep = tmp_path / "issues" / "2026"
    deep.mkdir(parents=True)
    assert find_workspace(cwd=deep) == tmp_path.resolve()


def test_no_workspace_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSLETTER_HOME", raising=False)
    with pytest.raises(ConfigurationError, match="newsletter init"):
        find_workspace(cwd=tmp_path)


def test_the_commented_settings_file_parses_to_the_defaults(tmp_path: Path) -> None:
    text = settings_toml()
    assert tomllib.loads(text) is not None
    for info in declared_settings():
        assert info.env in text
    path = tmp_path / "newsletter.toml"
    path.write_text(text, "utf-8")
    assert load_settings(path, environ={}) == load_settings(None, environ={})
    # Uncommenting every line gives the defaults too: the shown values are real TOML.
    uncommented = "\n".join(
        line[2:] if re.match(r"# [a-z_]+ = ", line) else line for line in text.splitlines()
    )
    path.write_text(uncommented, "utf-8")
    assert load_settings(path, environ={}) == load_settings(None, environ={})


def test_identities_are_tables_of_the_file_or_json_in_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "newsletter.toml"
    path.write_text(
        "[identities.coalition]\nname = 'Coalition'\nemail = 'c@example.org'\n"
        "postal_address = '1 rue Exemple'\nlogo_alt = {fr = 'Logo', en = 'Logo (en)'}\n",
        "utf-8",
    )
    coalition = load_settings(path, environ={}).identities["coalition"]
    assert (coalition.name, coalition.logo_alt) == ("Coalition", {"fr": "Logo", "en": "Logo (en)"})
    settings = load_settings(
        None, environ={"NEWSLETTER_IDENTITIES": '{"x": {"name": "X", "email": "x@example.org"}}'}
    )
    assert settings.identities["x"].email == "x@example.org"


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ("[identities.coalition]\nname = 'C'\n", r"identities\.coalition\.email"),
        ("[identities.coalition]\nname = 'C'\nemail = 'é@example.org'\n", "ASCII"),
        ("[identities.Coalition]\nname = 'C'\nemail = 'c@example.org'\n", "lowercase"),
        ("[identities.coalition]\nname = 'C'\nemail = 'c@example.org'\nlogo_alt = {de = 'x'}\n",
         "per language"),
    ],
)  # fmt: skip
def test_a_wrong_identity_names_it_and_the_variable(
    tmp_path: Path, table: str, words: str
) -> None:
    path = tmp_path / "newsletter.toml"
    path.write_text(table, "utf-8")
    with pytest.raises(ConfigurationError, match=words) as caught:
        load_settings(path, environ={})
    assert "NEWSLETTER_IDENTITIES" in str(caught.value)


def test_the_starter_identity_is_the_example_workspace_s() -> None:
    example = tomllib.loads((ROOT / "newsletter.toml").read_text(encoding="utf-8"))
    assert tomllib.loads(STARTER_IDENTITY)["identities"] == example["identities"]
