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

import httpx

from appliance.audio_store import sniff_format
from appliance.note_templates import TemplateInputError, validate
from appliance.notes.custom_formats import CUSTOM_PREFIX, custom_format
from appliance.notes.draft import Draft, build_draft
from appliance.notes.formats import FORMATS, NoteFormat
from appliance.notes.llm_router import LLMSectionClassifier
from appliance.notes.rewrite import rewrite_draft, writer_for
from appliance.notes.vocabulary import speech_vocabulary
from appliance.settings import Settings
from appliance.speech_client import transcribe

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


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url.rstrip('/')}/models", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def model_services(settings: Settings, *, speech: bool) -> Iterator[None]:
    """Use the configured services, or run the embedded ones on the configured ports."""

    def ready() -> bool:
        return (not speech or _answers(settings.speech_url)) and _answers(settings.llm_url)

    if ready():
        yield
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
        yield
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
    with model_services(settings, speech=path.suffix.lower() != ".txt"):
        if path.suffix.lower() == ".txt":
            transcript = data.decode("utf-8")
        else:
            audio_format = sniff_format(data)
            if audio_format is None:
                raise DraftCommandError(f"{path} is neither a .txt file nor a recording we read")
            began = time.perf_counter()
            transcript = transcribe(
                settings.speech_url,
                settings.speech_model,
                settings.model_api_key,
                data,
                audio_format,
                speech_vocabulary(modality),
            )
            timings["transcription"] = round(time.perf_counter() - began, 3)
        router = LLMSectionClassifier(settings.llm_url, settings.llm_model, settings.model_api_key)
        began = time.perf_counter()
        draft = build_draft(transcript, modality, form, router)
        timings["drafting"] = round(time.perf_counter() - began, 3)
        writer = writer_for(
            settings.llm_class, settings.llm_url, settings.llm_model, settings.model_api_key
        )
        if writer is not None:
            began = time.perf_counter()
            draft = rewrite_draft(draft, writer)
            timings["rewriting"] = round(time.perf_counter() - began, 3)
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
