from __future__ import annotations

import subprocess
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from model_server.engines.base import SAMPLE_RATE, Samples, TranscribeOptions, Transcript
from model_server.engines.openai_whisper_engine import OpenAIWhisperEngine
from model_server.wer import word_error_rate
from tests.tools import require_tool

FIRST = "She has been sleeping better."
SECOND = "We will meet again next Tuesday."
# The pause makes Whisper end one segment and start another, so their order can be checked.
DICTATION_SSML = f'<speak>{FIRST}<break time="1s"/>{SECOND}</speak>'
# Measured with the converted tiny.en on CPU (torch 2.13.0, openai-whisper 20250625, espeak-ng
# 1.51): WER 0.00, text "She has been sleeping better. We will meet again next Tuesday.".
# The bound leaves room for two wrong words of the eleven (another CPU, fp16 on a GPU).
MAX_WER = 0.2

# whisper warns on every call when a model runs on the CPU of a machine that has CUDA; these
# tests choose the CPU on purpose, so that their numbers hold on the GPU box too.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Performing inference on CPU when CUDA is available:UserWarning"
)


@pytest.fixture(scope="module")
def checkpoint(whisper_checkpoint: Path) -> Path:
    return whisper_checkpoint


@pytest.fixture(scope="module")
def engine(checkpoint: Path) -> OpenAIWhisperEngine:
    return OpenAIWhisperEngine(checkpoint, device="cpu")


@pytest.fixture(scope="module")
def dictation(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    """About 5 s of espeak-ng speech, 16 kHz mono float32 as engines receive it."""
    espeak_ng = require_tool("espeak-ng", "it speaks the test dictation")
    sox_path = require_tool("sox", "it resamples the test speech to 16 kHz")
    folder = tmp_path_factory.mktemp("speech")
    spoken, resampled = folder / "spoken.wav", folder / "16k.wav"
    espeak = [espeak_ng, "-v", "en-us", "-s", "150", "-m", "-w", str(spoken), DICTATION_SSML]
    subprocess.run(espeak, check=True)
    sox = [sox_path, str(spoken), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(resampled)]
    subprocess.run(sox, check=True)
    with wave.open(str(resampled)) as wav:
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return (pcm / 32768).astype(np.float32)


@pytest.fixture(scope="module")
def transcript(engine: OpenAIWhisperEngine, dictation: Samples) -> Transcript:
    return engine.transcribe(dictation, TranscribeOptions())


def test_it_transcribes_speech_within_the_word_error_bound(transcript: Transcript) -> None:
    assert word_error_rate(f"{FIRST} {SECOND}", transcript.text) <= MAX_WER


def test_it_reports_language_and_duration(transcript: Transcript, dictation: Samples) -> None:
    assert transcript.language == "en"
    assert transcript.duration == pytest.approx(len(dictation) / SAMPLE_RATE)
    assert 4.5 < transcript.duration < 6.5


def test_its_segments_follow_each_other(transcript: Transcript) -> None:
    segments = transcript.segments
    assert len(segments) >= 2
    starts = [s.start for s in segments]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert all(s.start <= s.end for s in segments)
    assert " ".join(s.text for s in segments) == transcript.text


def test_concurrent_calls_give_the_same_text(
    engine: OpenAIWhisperEngine, dictation: Samples, transcript: Transcript
) -> None:
    # Without the engine's lock, two decodes share the model's kv-cache hooks and garble both.
    with ThreadPoolExecutor(max_workers=2) as pool:
        texts = list(
            pool.map(lambda _: engine.transcribe(dictation, TranscribeOptions()).text, range(2))
        )
    assert texts == [transcript.text, transcript.text]


def test_it_refuses_a_checkpoint_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        OpenAIWhisperEngine(tmp_path / "missing.pt", device="cpu")


def test_it_never_takes_a_model_name_for_a_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # whisper.load_model("tiny.en") would fetch the official checkpoint from OpenAI's CDN.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        OpenAIWhisperEngine(Path("tiny.en"), device="cpu")


def test_on_cuda_it_stores_fp16_weights_and_fp32_layer_norms(
    checkpoint: Path, dictation: Samples
) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    gpu = OpenAIWhisperEngine(checkpoint, device="cuda")
    norms = [m for m in gpu.model.modules() if isinstance(m, torch.nn.LayerNorm)]
    assert norms and all(p.dtype == torch.float32 for m in norms for p in m.parameters())
    assert gpu.model.encoder.conv1.weight.dtype == torch.float16
    assert gpu.model.decoder.token_embedding.weight.dtype == torch.float16
    text = gpu.transcribe(dictation, TranscribeOptions()).text
    assert word_error_rate(f"{FIRST} {SECOND}", text) <= MAX_WER
