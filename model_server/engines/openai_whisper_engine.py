"""Speech-to-text with openai-whisper, the reference implementation, on a local checkpoint.

torch and whisper are imported when the engine is built, so a server configured for
faster-whisper never pays for them. The checkpoint comes from model_server.ct2_checkpoint.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np

from model_server.engines.base import SAMPLE_RATE, Samples, Segment, TranscribeOptions, Transcript

Device = Literal["cpu", "cuda", "auto"]


class OpenAIWhisperEngine:
    name = "openai-whisper"

    def __init__(self, checkpoint: Path, device: Device = "auto", beam_size: int = 5) -> None:
        # load_model treats a known model name ("tiny.en") as a download from OpenAI's CDN, and
        # checks names before paths; an absolute path to an existing file can never be a name.
        path = Path(checkpoint).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"openai-whisper checkpoint {path} does not exist")
        if device not in ("cpu", "cuda", "auto"):
            raise ValueError(f"device must be cpu, cuda or auto, not {device!r}")

        import torch
        import whisper
        from whisper.tokenizer import get_tokenizer

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        model = whisper.load_model(str(path), device=device)
        # On a GPU, parameters stored in fp16 are far faster than load_model's fp32 ones cast at
        # every call (docs/performance.md, GPU). whisper's LayerNorm computes in fp32 and needs
        # fp32 weights.
        # CPUs have no fast fp16 kernels, so they keep fp32 throughout.
        self._fp16 = device == "cuda"
        if self._fp16:
            model.half()
            for module in model.modules():
                if isinstance(module, torch.nn.LayerNorm):
                    module.float()
        model.eval()
        self.model: Any = model
        self.multilingual = bool(model.is_multilingual)
        # Read the vocabulary now (whisper caches it per process) so the first request does not
        # pay for it. whisper leaves that file for the garbage collector to close: a
        # ResourceWarning, silenced here where it happens, once.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            get_tokenizer(self.multilingual, num_languages=model.num_languages)
        self.beam_size = beam_size
        # A torch module keeps per-call state (kv-cache hooks), so calls must not interleave.
        self._lock = threading.Lock()

    def transcribe(self, audio: Samples, options: TranscribeOptions) -> Transcript:
        # options.vad and options.hotwords are not honoured: openai-whisper has no voice-activity
        # filter (silence is caught by its no-speech probability) and no hotword biasing; the
        # prompt is its only vocabulary hint.
        language = options.language or "en"
        # whisper wraps the samples with torch.from_numpy, which warns on a read-only array (one
        # made with np.frombuffer over request bytes), so it always gets its own writable copy.
        samples = np.array(audio, dtype=np.float32, copy=True)
        with self._lock:
            result = cast(
                dict[str, Any],
                self.model.transcribe(
                    samples,
                    language=language,
                    initial_prompt=options.prompt,
                    fp16=self._fp16,
                    # Greedy only: the default fallback to sampling at higher temperatures makes
                    # the same dictation give different text on each run and multiplies the
                    # decoding time on hard audio; a clinician reviews the draft anyway.
                    temperature=0.0,
                    # The same beam as faster-whisper, so the two engines compare like for like.
                    beam_size=self.beam_size if self.beam_size > 1 else None,
                    # Conditioning on earlier windows lets one misheard phrase repeat itself
                    # through the rest of a long dictation.
                    condition_on_previous_text=False,
                    without_timestamps=False,
                    verbose=None,
                ),
            )
        segments = [
            Segment(start=float(s["start"]), end=float(s["end"]), text=str(s["text"]).strip())
            for s in cast(list[dict[str, Any]], result["segments"])
        ]
        return Transcript(
            text=str(result["text"]).strip(),
            # An English-only model decodes English whatever was asked for.
            language=language if self.multilingual else "en",
            duration=len(audio) / SAMPLE_RATE,
            segments=segments,
        )
