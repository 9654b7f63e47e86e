"""Fixtures for the domain tests that run the dictation pipeline against real services: the
speech service on the bundled Whisper tiny.en (one per test module) and a stand-in LLM.

A test module that needs other models (a slower engine, a model that fails) defines fixtures of
the same names, which take precedence over these.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from appliance.runtime import Appliance
from model_server.bundled import whisper_tiny_en_dir
from model_server.engines.faster_whisper_engine import FasterWhisperEngine
from tests.fake_llm import FakeLLM, fake_llm
from tests.model_server.conftest import MODEL_ID, ServerThread, make_service


@pytest.fixture(scope="module")
def speech_url() -> Iterator[str]:
    engine = FasterWhisperEngine(whisper_tiny_en_dir(), device="cpu", cpu_threads=0, beam_size=5)
    with ServerThread(make_service(engine)) as server:
        yield server.base_url


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    with fake_llm() as server:
        yield server


@pytest.fixture
def wired(
    appliance: Appliance, speech_url: str, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> Appliance:
    """The appliance with its speech and LLM settings pointing at the two services."""
    monkeypatch.setattr(
        appliance,
        "settings",
        appliance.settings.model_copy(
            update={"speech_url": speech_url, "speech_model": MODEL_ID, "llm_url": llm.base_url}
        ),
    )
    return appliance
