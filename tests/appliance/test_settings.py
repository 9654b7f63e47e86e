from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from appliance.settings import Settings, SettingsError, documented_settings, load_settings
from tests.settings_doc import documented_table, printed_table


def test_it_reads_settings_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPLIANCE_PORT", "8443")
    monkeypatch.setenv("APPLIANCE_IDLE_TIMEOUT_MINUTES", "10")
    settings = load_settings()
    assert settings.port == 8443
    assert settings.idle_timeout_minutes == 10


def test_it_names_the_setting_when_a_value_is_bad(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPLIANCE_PORT", "eighty")
    with pytest.raises(SettingsError, match="APPLIANCE_PORT"):
        load_settings()


def test_it_refuses_an_out_of_range_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPLIANCE_LOCKOUT_THRESHOLD", "1")
    with pytest.raises(SettingsError, match="APPLIANCE_LOCKOUT_THRESHOLD"):
        load_settings()


def test_it_never_echoes_the_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPLIANCE_DATABASE_URL", "")
    with pytest.raises(SettingsError) as raised:
        load_settings(database_url=["postgresql://u:s3cret@h/db"])
    assert "s3cret" not in str(raised.value)
    assert "APPLIANCE_DATABASE_URL" in str(raised.value)


def test_it_reads_the_toml_file_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "appliance.toml").write_text('host = "0.0.0.0"\nport = 9000\n')
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)


def test_environment_wins_over_the_toml_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "appliance.toml").write_text("port = 9000\n")
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("APPLIANCE_PORT", "9100")
    assert load_settings().port == 9100


def test_it_rejects_an_unknown_key_in_the_toml_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "appliance.toml").write_text("idle_timeout = 5\n")
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(tmp_path))
    with pytest.raises(SettingsError, match="idle_timeout"):
        load_settings()


def test_it_rejects_a_broken_toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "appliance.toml").write_text("port = \n")
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(tmp_path))
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings()


def test_every_setting_is_documented_in_docs_settings() -> None:
    printed = printed_table("appliance.cli")
    assert len(printed.splitlines()) == len(documented_settings()) + 2
    documented = documented_table("## Appliance (`appliance settings`)")
    assert documented == printed, "docs/settings.md differs from `appliance settings`"


def test_every_setting_has_a_description() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no description"


@pytest.mark.parametrize("name", ["speech_url", "llm_url"])
def test_a_model_service_on_another_host_needs_https(name: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="in the clear"):
        Settings(data_dir=tmp_path, **{name: "http://10.0.0.5:8102/v1"})
    assert Settings(data_dir=tmp_path, **{name: "https://gpu.clinic.internal/v1"})
    assert Settings(data_dir=tmp_path, **{name: "http://127.0.0.1:8102/v1"})
    assert Settings(data_dir=tmp_path, **{name: "http://localhost:8102/v1"})
    # The admin says the path is encrypted another way (WireGuard, IPsec).
    assert Settings(
        data_dir=tmp_path, model_network_encrypted=True, **{name: "http://10.0.0.5:8102/v1"}
    )
