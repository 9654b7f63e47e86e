"""The one drafting sequence: what the jobs, `appliance draft` and `make eval` all run."""

from __future__ import annotations

from collections.abc import Sequence

from appliance.drafting import pipeline
from appliance.drafting.vocabulary import speech_vocabulary

TEXT = "Client reported better sleep. We practiced paced breathing. She denies SI."


class HeardText:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str | None]] = []

    def transcribe(self, audio: bytes, audio_format: str, vocabulary: str | None = None) -> str:
        self.asked.append((audio_format, vocabulary))
        return TEXT


class FirstSection:
    def classify(self, sentence: str, sections: Sequence[tuple[str, str]]) -> str | None:
        return sections[0][0]


class Shouting:
    def __init__(self) -> None:
        self.sentences: list[str] = []

    def rewrite(self, sentence: str, section_title: str, modality: str) -> str | None:
        self.sentences.append(sentence)
        return sentence.upper()


def test_transcription_hints_the_vocabulary_of_the_dictations_modality() -> None:
    heard = HeardText()
    assert pipeline.transcribe(heard, b"RIFF....", "wav", "emdr") == TEXT
    assert heard.asked == [("wav", speech_vocabulary("emdr"))]


def test_without_a_writer_every_statement_is_the_clinicians_sentence() -> None:
    draft = pipeline.draft(TEXT, "cbt", "soap", FirstSection())
    assert draft.rewrite is None
    assert all(s.written_by == "clinician" for _, s in draft.statements())


def test_a_writer_is_asked_about_every_statement_after_routing() -> None:
    writer = Shouting()
    draft = pipeline.draft(TEXT, "cbt", "soap", FirstSection(), writer)
    assert sorted(writer.sentences) == sorted(s.provenance[0].text for _, s in draft.statements())
    assert draft.rewrite is not None and draft.rewrite["llm_class"] == "writer"
