from __future__ import annotations

from pathlib import Path

import pytest
import tokenizers

from appliance.drafting.risk import RISK_PATTERN
from appliance.drafting.vocabulary import BY_MODALITY, speech_vocabulary
from appliance.records.dictations import MODALITIES
from model_server.bundled import whisper_base_dir
from speech_io.protocol import MAX_VOCABULARY_CHARS

# faster-whisper keeps at most max_length // 2 - 1 = 223 hotword tokens and drops the rest.
HINT_TOKENS = 223


def test_every_modality_has_its_own_terms() -> None:
    assert set(BY_MODALITY) == set(MODALITIES)
    assert "exile" in speech_vocabulary("ifs") and "exile" not in speech_vocabulary("cbt")


@pytest.mark.parametrize("modality", sorted(BY_MODALITY))
def test_the_hint_fits_the_speech_service_and_whispers_window(
    modality: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    hint = speech_vocabulary(modality)
    assert len(hint) <= MAX_VOCABULARY_CHARS
    folder: Path = whisper_base_dir(tmp_path_factory.getbasetemp() / "models")
    tokenizer = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
    assert len(tokenizer.encode(" " + hint).ids) <= HINT_TOKENS


@pytest.mark.parametrize("modality", sorted(BY_MODALITY))
def test_no_risk_word_is_hinted(modality: str) -> None:
    # Hinted, "suicidal ideation" made Whisper write "ideation" for "anxiety" (make eval).
    assert RISK_PATTERN.search(speech_vocabulary(modality)) is None
