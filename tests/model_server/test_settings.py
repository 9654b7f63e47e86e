from __future__ import annotations

import pytest

from model_server.settings import (
    ModelServerSettings,
    ModelServerSettingsError,
    documented_settings,
    load_model_server_settings,
)
from tests.settings_doc import documented_table, printed_table


def test_every_model_server_setting_is_documented_in_docs_settings() -> None:
    printed = printed_table("model_server.cli")
    assert len(printed.splitlines()) == len(documented_settings()) + 2
    documented = documented_table("## Model server (`model-server settings`)")
    assert documented == printed, "docs/settings.md differs from `model-server settings`"


def test_every_setting_has_a_description() -> None:
    for name, field in ModelServerSettings.model_fields.items():
        assert field.description, name


def test_a_bad_value_names_the_setting_and_hides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_SERVER_SPEECH_ENGINE", "whisper.cpp")
    with pytest.raises(ModelServerSettingsError, match="MODEL_SERVER_SPEECH_ENGINE"):
        load_model_server_settings()
    monkeypatch.delenv("MODEL_SERVER_SPEECH_ENGINE")
    with pytest.raises(ModelServerSettingsError) as raised:
        load_model_server_settings(api_key=["s3cret"])
    assert "s3cret" not in str(raised.value)
