"""Builds the configured speech engine and names the model it serves."""

from __future__ import annotations

from pathlib import Path

from model_server.bundled import whisper_base_dir, whisper_tiny_en_dir
from model_server.engines.base import SpeechEngine
from model_server.settings import ModelServerSettings


def model_id(settings: ModelServerSettings) -> str:
    if settings.whisper_model_name:
        return settings.whisper_model_name
    if settings.speech_engine == "openai-whisper" and settings.whisper_checkpoint is not None:
        return f"whisper-{settings.whisper_checkpoint.stem}"
    if settings.whisper_model_dir is not None:
        return f"whisper-{settings.whisper_model_dir.name}"
    return f"whisper-{settings.whisper_model}"


def bundled_whisper_dir(settings: ModelServerSettings) -> Path:
    if settings.whisper_model == "base":
        return whisper_base_dir(settings.cache_dir)
    return whisper_tiny_en_dir()


def whisper_dir(settings: ModelServerSettings) -> Path:
    """The CTranslate2 folder faster-whisper loads: the configured one, else the bundled."""
    return settings.whisper_model_dir or bundled_whisper_dir(settings)


def load_engine(settings: ModelServerSettings) -> SpeechEngine:
    if settings.speech_engine == "openai-whisper":
        from model_server.engines.openai_whisper_engine import OpenAIWhisperEngine

        return OpenAIWhisperEngine(
            _checkpoint(settings), device=settings.device, beam_size=settings.beam_size
        )
    from model_server.engines.faster_whisper_engine import FasterWhisperEngine

    return FasterWhisperEngine(
        whisper_dir(settings),
        device=settings.device,
        cpu_threads=settings.cpu_threads,
        beam_size=settings.beam_size,
    )


def _checkpoint(settings: ModelServerSettings) -> Path:
    if settings.whisper_checkpoint is not None:
        return settings.whisper_checkpoint
    from model_server.ct2_checkpoint import convert

    target = settings.cache_dir / f"whisper-{settings.whisper_model}.pt"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        convert(bundled_whisper_dir(settings), target)
    return target
