"""The speech service through the official `openai` client, on real speech (espeak-ng)."""

from __future__ import annotations

import asyncio
import logging
import math
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest
from starlette.requests import Request

from model_server.engines.faster_whisper_engine import FasterWhisperEngine
from model_server.settings import ModelServerSettings
from model_server.speech_service import SpeechService
from model_server.wer import word_error_rate
from speech_io.upload import UploadTooLarge, read_upload
from tests.model_server.conftest import (
    AUDIO,
    MODEL_ID,
    RecordingEngine,
    ServerThread,
    dictations,
    make_service,
)
from tests.wav import wav_bytes

HELLO = (AUDIO / "hello.txt").read_text()
# Measured with tiny.en, beam 5, on these espeak-ng files: 0.165 mean over the six dictations;
# on the 13-word clip 0.08 (m4a), 0.15 (wav, flac, ogg), 0.31 (webm), 0.38 (mp3) - tiny.en is
# fragile on the lossier encodings. Decoding itself is exact (tests/model_server/test_audio.py).
MEAN_WER_BOUND = 0.25
CLIP_WER_BOUND = 0.45


@pytest.fixture(scope="module")
def client(speech_server: ServerThread) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=speech_server.base_url, api_key="unused", max_retries=0) as c:
        yield c


def _transcribe(client: openai.OpenAI, path: Path, **kwargs: object) -> object:
    with path.open("rb") as audio:
        return client.audio.transcriptions.create(model=MODEL_ID, file=audio, **kwargs)  # type: ignore[call-overload]


@pytest.mark.parametrize(
    "name",
    [
        "hello.wav",
        "hello.flac",
        "hello.mp3",
        "hello.m4a",
        "hello.ogg",
        "hello.webm",
        "hello-streamed.webm",
    ],
)
def test_every_accepted_format_is_transcribed(client: openai.OpenAI, name: str) -> None:
    text = _transcribe(client, AUDIO / name).text  # type: ignore[attr-defined]
    assert word_error_rate(HELLO, text) <= CLIP_WER_BOUND, text
    assert "suicidal ideation" in text and "14" in text


def test_the_dictations_are_transcribed_within_the_wer_bound(client: openai.OpenAI) -> None:
    rates = []
    for dictation in dictations():
        result = _transcribe(client, dictation.audio)
        rates.append(word_error_rate(dictation.script, result.text))  # type: ignore[attr-defined]
    assert sum(rates) / len(rates) <= MEAN_WER_BOUND, rates


def test_verbose_json_has_timed_segments(client: openai.OpenAI) -> None:
    result = _transcribe(client, AUDIO / "hello.wav", response_format="verbose_json")
    assert math.isclose(result.duration, 5.05, abs_tol=0.1)  # type: ignore[attr-defined]
    segments = result.segments  # type: ignore[attr-defined]
    assert segments and all(s.end > s.start for s in segments)
    assert [s.start for s in segments] == sorted(s.start for s in segments)
    assert result.language == "en"  # type: ignore[attr-defined]


def test_text_format_is_plain_text(client: openai.OpenAI) -> None:
    result = _transcribe(client, AUDIO / "hello.wav", response_format="text")
    assert isinstance(result, str) and "PHQ" in result.upper()


def test_models_names_the_whisper_model(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == [MODEL_ID]


def _error(client: openai.OpenAI, path: Path, **kwargs: object) -> openai.APIStatusError:
    with pytest.raises(openai.APIStatusError) as raised:
        _transcribe(client, path, **kwargs)
    return raised.value


def test_a_file_that_is_not_audio_is_415_naming_the_formats(client: openai.OpenAI) -> None:
    error = _error(client, AUDIO / "not-audio.png")
    assert error.status_code == 415
    assert "wav, mp3, m4a/mp4, ogg/opus, webm/opus, flac" in error.message


def test_a_damaged_file_is_400(client: openai.OpenAI) -> None:
    error = _error(client, AUDIO / "corrupt.ogg")
    assert error.status_code == 400 and "damaged" in error.message


def test_an_empty_recording_is_400(client: openai.OpenAI) -> None:
    error = _error(client, AUDIO / "empty.wav")
    assert error.status_code == 400 and "no sound" in error.message


def test_a_silent_recording_is_400_named_silent(speech_server: ServerThread) -> None:
    reply = httpx.post(
        f"{speech_server.base_url}/audio/transcriptions",
        data={"model": MODEL_ID},
        files={"file": ("muted.wav", _tone_wav(3, amplitude=0), "audio/wav")},
    )
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "silent"


def test_an_unknown_model_is_404(client: openai.OpenAI) -> None:
    with (AUDIO / "hello.wav").open("rb") as audio, pytest.raises(openai.NotFoundError):
        client.audio.transcriptions.create(model="whisper-1", file=audio)


def test_errors_use_the_openai_envelope(speech_server: ServerThread) -> None:
    reply = httpx.post(
        f"{speech_server.base_url}/audio/transcriptions",
        data={"model": MODEL_ID, "response_format": "srt"},
        files={"file": ("hello.wav", (AUDIO / "hello.wav").read_bytes(), "audio/wav")},
    )
    assert reply.status_code == 400
    assert set(reply.json()["error"]) == {"message", "type", "param", "code"}
    assert reply.json()["error"]["param"] == "response_format"


def _tone_wav(seconds: float, amplitude: int = 3000) -> bytes:
    frames = np.arange(int(seconds * 8000))
    return wav_bytes(amplitude / 32767 * np.sin(frames / 5), rate=8000)


def test_a_recording_over_the_duration_limit_is_413(faster_whisper: FasterWhisperEngine) -> None:
    service = make_service(faster_whisper, max_audio_minutes=1)
    with ServerThread(service) as server:
        reply = httpx.post(
            f"{server.base_url}/audio/transcriptions",
            data={"model": MODEL_ID},
            files={"file": ("long.wav", _tone_wav(61), "audio/wav")},
        )
    assert reply.status_code == 413 and "longer than 1 minutes" in reply.json()["error"]["message"]


FILE_PART_HEAD = (
    b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.wav"\r\n'
    b"Content-Type: audio/wav\r\n\r\n"
)


def _post_declaring(port: int, length: int) -> str:
    """Headers that announce a huge body, and none of the body: the answer must not wait for it."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(
            b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n"
            + f"Content-Length: {length}\r\n\r\n".encode()
        )
        return raw.recv(4096).decode(errors="replace")


def test_an_upload_over_the_size_limit_is_413_before_it_is_read(
    faster_whisper: FasterWhisperEngine,
) -> None:
    service = make_service(faster_whisper, max_upload_mb=1)
    with ServerThread(service) as server:
        declared = _post_declaring(server.port, 2_000_000)
        streamed = httpx.post(
            f"{server.base_url}/audio/transcriptions",
            content=iter([FILE_PART_HEAD, *[b"\0" * 256 * 1024] * 8]),  # 2 MB, no length
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
    assert declared.startswith("HTTP/1.1 413")
    assert streamed.status_code == 413
    assert streamed.json()["error"]["code"] == "file_too_large"


def test_the_upload_reader_stops_pulling_at_the_limit() -> None:
    pulled = 0

    async def receive() -> dict[str, object]:
        nonlocal pulled
        pulled += 1
        body = FILE_PART_HEAD if pulled == 1 else b"\0" * 64 * 1024
        return {"type": "http.request", "body": body, "more_body": pulled < 1000}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-type", b"multipart/form-data; boundary=b")],
    }
    with pytest.raises(UploadTooLarge):
        asyncio.run(read_upload(Request(scope, receive), limit=1024 * 1024))
    assert pulled <= 18, f"read {pulled} chunks of 64 KB for a 1 MB limit"


def test_an_api_key_is_required_when_configured(faster_whisper: FasterWhisperEngine) -> None:
    with ServerThread(make_service(faster_whisper, api_key="s3cret")) as server:
        with (
            openai.OpenAI(base_url=server.base_url, api_key="wrong", max_retries=0) as wrong,
            pytest.raises(openai.AuthenticationError),
        ):
            wrong.models.list()
        with openai.OpenAI(base_url=server.base_url, api_key="s3cret", max_retries=0) as right:
            assert [m.id for m in right.models.list()] == [MODEL_ID]


def test_no_log_line_contains_what_was_said(
    client: openai.OpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    dictation = dictations()[0]
    with caplog.at_level(logging.DEBUG):
        result = _transcribe(client, dictation.audio)
    said = {w.strip(".,").lower() for w in result.text.split() if len(w) > 6}  # type: ignore[attr-defined]
    assert len(said) > 5
    client_side = ("httpx", "httpcore", "openai")  # this test's own HTTP client, not the service
    logged = "\n".join(
        r.getMessage().lower() for r in caplog.records if not r.name.startswith(client_side)
    )
    assert "transcribed ogg/opus" in logged, "the service's own log line is captured"
    assert not [w for w in said if w in logged]


@pytest.fixture(scope="module")
def reference_server(whisper_checkpoint: Path) -> Iterator[ServerThread]:
    from model_server.engines.openai_whisper_engine import OpenAIWhisperEngine

    engine = OpenAIWhisperEngine(whisper_checkpoint, device="cpu")
    settings = ModelServerSettings(speech_engine="openai-whisper")
    with ServerThread(SpeechService(engine, settings, MODEL_ID)) as server:
        yield server


@pytest.mark.filterwarnings("ignore:Performing inference on CPU when CUDA is available:UserWarning")
def test_the_reference_engine_serves_the_same_api_on_real_weights(
    reference_server: ServerThread,
) -> None:
    # Measured (make bench-asr): mean WER 0.161 with openai-whisper, beam 5, on these six.
    rates = []
    with openai.OpenAI(base_url=reference_server.base_url, api_key="x", max_retries=0) as client:
        for dictation in dictations():
            with dictation.audio.open("rb") as audio:
                text = client.audio.transcriptions.create(model=MODEL_ID, file=audio).text
            rates.append(word_error_rate(dictation.script, text))
    assert sum(rates) / len(rates) <= MEAN_WER_BOUND, rates


def test_a_requests_vocabulary_replaces_the_servers_as_hotwords(
    faster_whisper: FasterWhisperEngine,
) -> None:
    engine = RecordingEngine(faster_whisper)
    service = SpeechService(engine, ModelServerSettings(vocabulary="CBT, SUD"), MODEL_ID)
    with ServerThread(service) as server:
        for extra in ({"vocabulary": "exile, unblending"}, {}):
            reply = httpx.post(
                f"{server.base_url}/audio/transcriptions",
                data={"model": MODEL_ID, **extra},
                files={"file": ("hello.wav", (AUDIO / "hello.wav").read_bytes(), "audio/wav")},
            )
            assert reply.status_code == 200
    assert [o.hotwords for o in engine.options] == ["exile, unblending", "CBT, SUD"]
    assert all(o.prompt is None for o in engine.options)


def test_a_callers_prompt_still_wins_over_any_vocabulary(
    faster_whisper: FasterWhisperEngine,
) -> None:
    options = make_service(faster_whisper).options_for("en", "Dr. Smith's notes.", "exile")
    assert (options.prompt, options.hotwords) == ("Dr. Smith's notes.", None)


def test_an_overlong_vocabulary_is_400_naming_the_field(speech_server: ServerThread) -> None:
    reply = httpx.post(
        f"{speech_server.base_url}/audio/transcriptions",
        data={"model": MODEL_ID, "vocabulary": "word, " * 200},
        files={"file": ("hello.wav", (AUDIO / "hello.wav").read_bytes(), "audio/wav")},
    )
    assert reply.status_code == 400
    assert reply.json()["error"]["param"] == "vocabulary"
