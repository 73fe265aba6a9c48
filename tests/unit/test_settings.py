"""The one settings object: defaults derived from the home folder, variables, precedence, sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragbench.errors import InputError
from ragbench.settings import SETTINGS, Settings, get_settings


def test_defaults_derive_from_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = Settings.from_environ({})
    home = tmp_path / ".ragbench"
    assert settings.home == home
    assert settings.database_url == f"sqlite:///{home}/ragbench.db"
    assert (settings.cache_dir, settings.models_dir) == (home / "cache", home / "models")
    assert settings.max_upload_bytes == 200 * 2**20
    assert settings.inline_scoring_lines == 300_000
    assert settings.token is None
    assert set(settings.sources.values()) == {"default"}


def test_home_moves_every_default_path(tmp_path: Path) -> None:
    settings = Settings.from_environ({"RAGBENCH_HOME": str(tmp_path / "h")})
    assert settings.database_url == f"sqlite:///{tmp_path}/h/ragbench.db"
    assert settings.cache_dir == tmp_path / "h" / "cache"
    assert settings.models_dir == tmp_path / "h" / "models"
    assert settings.sources["home"] == "RAGBENCH_HOME"
    assert settings.sources["database_url"] == "default"


def test_a_variable_beats_the_default_derived_from_home(tmp_path: Path) -> None:
    settings = Settings.from_environ(
        {
            "RAGBENCH_HOME": str(tmp_path),
            "RAGBENCH_DATABASE_URL": "sqlite:////tmp/x.db",
            "RAGBENCH_CACHE_DIR": str(tmp_path / "c"),
            "RAGBENCH_MAX_UPLOAD_BYTES": "1_000",
            "RAGBENCH_INLINE_SCORING_LINES": "5",
            "RAGBENCH_TOKEN": "secret-token",
        }
    )
    assert settings.database_url == "sqlite:////tmp/x.db"
    assert settings.cache_dir == tmp_path / "c"
    assert settings.models_dir == tmp_path / "models"
    assert (settings.max_upload_bytes, settings.inline_scoring_lines) == (1000, 5)
    assert settings.sources["database_url"] == "RAGBENCH_DATABASE_URL"
    shown = {variable: value for variable, value, _, _ in settings.describe()}
    assert shown["RAGBENCH_TOKEN"] == "(set)"
    assert "secret-token" not in repr(settings.describe())


def test_passwords_are_hidden_when_described() -> None:
    settings = Settings.from_environ({"RAGBENCH_DATABASE_URL": "postgresql+psycopg://me:pw@db:5432/rb"})
    shown = {variable: value for variable, value, _, _ in settings.describe()}
    assert shown["RAGBENCH_DATABASE_URL"] == "postgresql+psycopg://me:***@db:5432/rb"


@pytest.mark.parametrize("raw", ["lots", "-3", "1.5"])
def test_bad_numbers_name_the_variable(raw: str) -> None:
    with pytest.raises(InputError, match="RAGBENCH_MAX_UPLOAD_BYTES"):
        Settings.from_environ({"RAGBENCH_MAX_UPLOAD_BYTES": raw})


def test_get_settings_reads_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGBENCH_INLINE_SCORING_LINES", "7")
    get_settings.cache_clear()
    try:
        settings = get_settings()
        assert settings.inline_scoring_lines == 7
        monkeypatch.setenv("RAGBENCH_INLINE_SCORING_LINES", "8")
        assert get_settings() is settings
    finally:
        get_settings.cache_clear()


def test_every_setting_is_a_field_with_a_ragbench_variable() -> None:
    fields = set(Settings.__dataclass_fields__) - {"sources"}
    assert {s.attribute for s in SETTINGS} == fields
    assert all(s.variable.startswith("RAGBENCH_") for s in SETTINGS)
