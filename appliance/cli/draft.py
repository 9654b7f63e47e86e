"""`appliance draft FILE`: the dictation-to-draft pipeline on one file, from the command line.

Audio goes to the configured speech service, text is taken as the transcript, and the draft is
built exactly as the job workers build it. If the configured model services do not answer,
the embedded ones (`model-server run --profile cpu`) are started for the run and stopped after.
Nothing is stored.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from appliance.drafting import pipeline
from appliance.drafting.custom_formats import CUSTOM_PREFIX, custom_format
from appliance.drafting.draft import Draft
from appliance.drafting.formats import FORMATS, NoteFormat
from appliance.inference.configured import ConfiguredModels, configured_models
from appliance.practice.note_templates import TemplateInputError, validate
from appliance.settings import Settings
from speech_io.audio import sniff_format

READY_TIMEOUT = 300.0


class DraftCommandError(Exception):
    """A message for the operator."""


@dataclass(frozen=True)
class DraftResult:
    draft: Draft
    timings: dict[str, float]
    format_title: str

    def as_json(self) -> dict[str, Any]:
        document = self.draft.as_json()
        document["timings"] = self.timings
        return document


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def model_services(settings: Settings, *, speech: bool) -> Iterator[ConfiguredModels]:
    """The configured services, or the embedded ones run on the configured ports meanwhile."""
    models = configured_models(settings)

    def ready() -> bool:
        return (not speech or models.speech.available()) and models.llm.available()

    if ready():
        yield models
        return
    speech_url, llm_url = urlparse(settings.speech_url), urlparse(settings.llm_url)
    env = {
        **os.environ,
        "MODEL_SERVER_SPEECH_PORT": str(speech_url.port or 8101),
        "MODEL_SERVER_LLM_PORT": str(llm_url.port or 8102),
        "MODEL_SERVER_LLM_BACKEND_PORT": str(_free_port()),
    }
    print("model services not answering; starting the embedded ones (cpu profile)", file=sys.stderr)
    process = subprocess.Popen(
        [sys.executable, "-m", "model_server.cli", "run", "--profile", "cpu"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                raise DraftCommandError("the embedded model services did not start")
            time.sleep(0.5)
        yield models
    finally:
        process.terminate()
        process.wait(timeout=30)


TEMPLATE_SHAPE = '{"title": ..., "sections": [{"title": ..., "guidance": ...}, ...]}'


def load_template_file(path: Path) -> NoteFormat:
    """`--template-file`: a custom template as JSON, checked as the admin page checks one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = [(str(s.get("title", "")), str(s.get("guidance", ""))) for s in data["sections"]]
        title, sections = validate(str(data["title"]), rows)
    except OSError:
        raise DraftCommandError(f"{path} cannot be read") from None
    except TemplateInputError as error:
        raise DraftCommandError(f"{path}: {error}") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise DraftCommandError(f"{path}: expected {TEMPLATE_SHAPE}") from None
    return custom_format(f"{CUSTOM_PREFIX}{path.stem}", title, sections)


def draft_file(
    settings: Settings, path: Path, modality: str, note_format: str | NoteFormat
) -> DraftResult:
    if isinstance(note_format, str) and note_format not in FORMATS:
        raise DraftCommandError(f"unknown format {note_format!r}; choose {', '.join(FORMATS)}")
    form = FORMATS[note_format] if isinstance(note_format, str) else note_format
    if not path.is_file():
        raise DraftCommandError(f"{path} does not exist")
    data = path.read_bytes()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    typed = path.suffix.lower() == ".txt"
    audio_format = None if typed else sniff_format(data)
    if not typed and audio_format is None:
        raise DraftCommandError(f"{path} is neither a .txt file nor a recording we read")
    with model_services(settings, speech=not typed) as models:
        if audio_format is None:
            transcript = data.decode("utf-8")
        else:
            began = time.perf_counter()
            transcript = pipeline.transcribe(models.speech, data, audio_format, modality)
            timings["transcription"] = round(time.perf_counter() - began, 3)
        draft = pipeline.draft(transcript, modality, form, models.router, models.writer)
    # The pipeline times its own stages: build_draft's "total", the writer's "rewriting".
    timings["drafting"] = round(draft.timings["total"], 3)
    if "rewriting" in draft.timings:
        timings["rewriting"] = round(draft.timings["rewriting"], 3)
    timings["total"] = round(time.perf_counter() - started, 3)
    return DraftResult(draft, timings, form.title)


def render_text(result: DraftResult) -> str:
    draft = result.draft
    lines = [f"{result.format_title} note (draft; {draft.modality})", ""]
    for key, statements in draft.sections.items():
        lines.append(draft.section_titles.get(key, key).upper())
        if statements:
            lines += [f"  - {s.text}" for s in statements]
        else:
            lines.append(f"  {draft.placeholders.get(key, '(nothing in the dictation)')}")
        lines.append("")
    if draft.flags:
        lines.append("CHECK BEFORE SIGNING")
        lines += [f"  ! {f.message}" for f in draft.flags]
    return "\n".join(lines)
