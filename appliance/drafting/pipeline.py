"""Dictation to draft: the one sequence that the job workers (appliance.jobs.dictation_stages),
`appliance draft` (appliance.cli.draft) and `make eval` all run.

Two steps, because a job stores the transcript (and shreds the audio) between them:
  1. `transcribe`: the recording to text, with the modality's vocabulary hinted to Whisper
     and its terms' case restored;
  2. `draft`: the text to a grounded draft (build_draft routes every sentence into a section,
     asking the router where cues do not decide), then, only for a writer-class model, the
     rewrite into clinical prose behind the faithfulness check.
The models are passed in: this package never speaks HTTP (appliance.inference does).
"""

from __future__ import annotations

from typing import Protocol

from appliance.drafting.casing import normalise_casing
from appliance.drafting.deadline import Deadline
from appliance.drafting.draft import Draft, SectionClassifier, build_draft
from appliance.drafting.formats import NoteFormat
from appliance.drafting.rewrite import StatementWriter, rewrite_draft
from appliance.drafting.vocabulary import speech_vocabulary


class Transcriber(Protocol):
    def transcribe(self, audio: bytes, audio_format: str, vocabulary: str | None = None) -> str:
        """What was said. `vocabulary`: terms to expect, comma-separated."""
        ...


def transcribe(transcriber: Transcriber, audio: bytes, audio_format: str, modality: str) -> str:
    """What Whisper heard, with the modality's terms in the vocabulary's case ("emdr" ->
    "EMDR"): here, before the transcript is stored, so every span a statement cites is of the
    text as stored (appliance.drafting.casing says why casing may be silent)."""
    heard = transcriber.transcribe(audio, audio_format, speech_vocabulary(modality))
    return normalise_casing(heard, modality)


def draft(
    transcript: str,
    modality: str,
    note_format: str | NoteFormat,
    router: SectionClassifier | None,
    writer: StatementWriter | None = None,
    *,
    deadline: Deadline | None = None,
) -> Draft:
    """`note_format`: a built-in key ("soap") or a custom template's NoteFormat. `router`: None
    drafts on cues alone (every undecided sentence placed by default and flagged). `writer`:
    None unless the configured model is trusted to write (APPLIANCE_LLM_CLASS=writer).
    `deadline`: the job's time limit; building the draft past it raises DraftingTimedOut, while
    the writer, which a draft never needs, just stops being asked."""
    result = build_draft(transcript, modality, note_format, router, deadline=deadline)
    if writer is not None:
        result = rewrite_draft(result, writer, deadline=deadline)
    return result
