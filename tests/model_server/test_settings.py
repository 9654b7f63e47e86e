from __future__ import annotations

import re
from pathlib import Path

import pytest

from model_server.settings import (
    ModelServerSettings,
    ModelServerSettingsError,
    documented_settings,
    load_model_server_settings,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_model_server_setting_is_documented_in_the_readme() -> None:
    rows = re.findall(
        r"^\| `(MODEL_SERVER_[A-Z_]+)` \| (?:`([^`]+)`|\*empty\*) \|", README.read_text(), re.M
    )
    assert dict(rows) == {env: default for env, default, _ in documented_settings()}


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
