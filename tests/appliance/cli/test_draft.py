"""`appliance draft FILE` from the command line, as an operator would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from model_server.bundled import whisper_tiny_en_dir
from model_server.engines.faster_whisper_engine import FasterWhisperEngine
from tests.fake_llm import FakeLLM, fake_llm
from tests.model_server.conftest import MODEL_ID, ServerThread, make_service
from tests.served_app import free_port

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    with fake_llm() as server:
        yield server


def _draft(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")},
        "APPLIANCE_DATA_DIR": str(tmp_path),
        **{f"APPLIANCE_{k.upper()}": v for k, v in settings.items()},
    }
    return subprocess.run(
        [sys.executable, "-m", "appliance.cli", "draft", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _check_document(document: dict[str, object], transcript_words: str) -> None:
    assert {"transcript", "sections", "fields", "flags", "timings"} <= set(document)
    assert transcript_words in str(document["transcript"]).lower()
    sections = document["sections"]
    assert isinstance(sections, dict)
    statements = [s for v in sections.values() for s in v]
    assert statements and all(s["provenance"] for s in statements)


def test_a_text_file_becomes_a_json_draft(tmp_path: Path, llm: FakeLLM) -> None:
    script = FIXTURES / "dictations" / "emdr-01.txt"
    result = _draft(
        tmp_path,
        str(script),
        "--modality",
        "emdr",
        "--format",
        "soap",
        "--json",
        llm_url=llm.base_url,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    _check_document(document, "bilateral")
    assert document["fields"]["sud_start"] and document["timings"]["drafting"] >= 0
    assert "transcription" not in document["timings"]


def test_an_audio_file_is_transcribed_then_drafted(tmp_path: Path, llm: FakeLLM) -> None:
    engine = FasterWhisperEngine(whisper_tiny_en_dir(), device="cpu", cpu_threads=0, beam_size=5)
    with ServerThread(make_service(engine)) as speech:
        result = _draft(
            tmp_path,
            str(FIXTURES / "audio" / "hello.wav"),
            "--modality",
            "cbt",
            "--format",
            "dap",
            "--json",
            speech_url=speech.base_url,
            speech_model=MODEL_ID,
            llm_url=llm.base_url,
        )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    _check_document(document, "suicidal")
    assert document["timings"]["transcription"] > 0


def test_the_text_view_shows_sections_and_what_to_check(tmp_path: Path, llm: FakeLLM) -> None:
    note = tmp_path / "note.txt"
    note.write_text("Client reported better sleep this week. Homework is two thought records.")
    result = _draft(
        tmp_path, str(note), "--modality", "cbt", "--format", "soap", llm_url=llm.base_url
    )
    assert result.returncode == 0, result.stderr
    assert "SUBJECTIVE" in result.stdout and "PLAN" in result.stdout
    assert (
        "Not addressed in dictation." in result.stdout and "CHECK BEFORE SIGNING" in result.stdout
    )


def test_the_writer_class_rewrites_statements_in_the_json_draft(
    tmp_path: Path, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = tmp_path / "note.txt"
    sentence = "Client reported better sleep this week."
    note.write_text(f"{sentence} Homework is two thought records.")
    better = "The client reported better sleep this week."
    monkeypatch.setitem(llm.rewrites, sentence, better)
    args = (str(note), "--modality", "cbt", "--format", "soap", "--json")
    result = _draft(tmp_path, *args, llm_url=llm.base_url, llm_class="writer")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    statements = [s for v in document["sections"].values() for s in v]
    assert {(s["text"], s["written_by"], s["source_text"]) for s in statements} == {
        (better, "model", sentence),
        ("Homework is two thought records.", "clinician", None),
    }
    assert document["rewrite"]["accepted"] == 1 and document["timings"]["rewriting"] >= 0
    router = _draft(tmp_path, *args, llm_url=llm.base_url)
    assert json.loads(router.stdout)["rewrite"] is None


def test_with_nothing_answering_it_starts_the_embedded_model_server(tmp_path: Path) -> None:
    result = _draft(
        tmp_path,
        str(FIXTURES / "audio" / "hello.m4a"),
        "--modality",
        "integrative",
        "--format",
        "birp",
        "--json",
        speech_url=f"http://127.0.0.1:{free_port()}/v1",
        llm_url=f"http://127.0.0.1:{free_port()}/v1",
    )
    assert result.returncode == 0, result.stderr
    assert "starting the embedded ones" in result.stderr
    _check_document(json.loads(result.stdout), "suicidal")


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = _draft(tmp_path, str(tmp_path / "none.txt"), "--modality", "cbt", "--format", "soap")
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_a_template_file_drafts_into_its_sections(tmp_path: Path, llm: FakeLLM) -> None:
    note = tmp_path / "note.txt"
    note.write_text("We practiced paced breathing. Homework is a daily breathing log.")
    template = tmp_path / "weekly.json"
    sections = [
        {"title": "Interventions", "guidance": "What the clinician did."},
        {"title": "Homework", "guidance": "What the client will practise."},
    ]
    template.write_text(json.dumps({"title": "Weekly check-in", "sections": sections}))
    args = (str(note), "--modality", "cbt", "--template-file", str(template))
    result = _draft(tmp_path, *args, llm_url=llm.base_url)
    assert result.returncode == 0, result.stderr
    assert "Weekly check-in note" in result.stdout
    assert "INTERVENTIONS\n  - We practiced paced breathing." in result.stdout
    assert "HOMEWORK\n  - Homework is a daily breathing log." in result.stdout
    document = json.loads(_draft(tmp_path, *args, "--json", llm_url=llm.base_url).stdout)
    assert document["format"] == "custom:weekly"
    assert document["section_titles"] == {
        "interventions": "Interventions",
        "homework": "Homework",
        "risk": "Risk",
    }


def test_a_bad_template_file_is_a_clear_error(tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_text("Anything.")
    template = tmp_path / "bad.json"
    template.write_text(json.dumps({"title": "Bad", "sections": [{"title": "Risk"}]}))
    result = _draft(tmp_path, str(note), "--modality", "cbt", "--template-file", str(template))
    assert result.returncode == 2
    assert "Section 1 title: every note gets a Risk section" in result.stderr
