"""faster-whisper (CTranslate2): the default engine. int8 on CPU, float16 on CUDA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from model_server.engines.base import SAMPLE_RATE, Samples, Segment, TranscribeOptions, Transcript
from model_server.engines.decode_failure import failed_decode


class FasterWhisperEngine:
    name = "faster-whisper"

    def __init__(
        self,
        model_dir: Path,
        *,
        device: str,
        cpu_threads: int,
        beam_size: int,
        batch_size: int = 8,
    ) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        if not (model_dir / "model.bin").is_file():
            raise FileNotFoundError(f"{model_dir} is not a CTranslate2 Whisper model folder")
        resolved = _resolve_device(device)
        # A local folder is loaded as is; nothing is looked up on a model hub.
        self.model = WhisperModel(
            str(model_dir),
            device=resolved,
            compute_type="float16" if resolved == "cuda" else "int8",
            cpu_threads=cpu_threads,
            local_files_only=True,
        )
        # With VAD on, speech is cut into chunks decoded together in batches: measured much faster
        # than sequential decoding at the same WER (docs/performance.md, "Batched decoding").
        self.batched = BatchedInferencePipeline(model=self.model)
        self.beam_size, self.batch_size = beam_size, batch_size

    def transcribe(self, audio: Samples, options: TranscribeOptions) -> Transcript:
        common: dict[str, Any] = {
            "language": options.language or "en",
            "beam_size": self.beam_size,
            "initial_prompt": options.prompt,
            "hotwords": options.hotwords,
            # Each segment stands on its own: a misheard word is not carried into the next one.
            "condition_on_previous_text": False,
        }
        redecoded = 0
        if options.vad:
            segments, info = self.batched.transcribe(
                audio, vad_filter=True, batch_size=self.batch_size, **common
            )
            parts = []
            for s in segments:
                part = Segment(s.start, s.end, s.text.strip())
                if failed_decode(part.text):
                    part = self._decode_again(audio, part, common)
                    redecoded += 1
                parts.append(part)
        else:
            segments, info = self.model.transcribe(audio, vad_filter=False, **common)
            parts = [Segment(s.start, s.end, s.text.strip()) for s in segments]
        return Transcript(
            text=" ".join(p.text for p in parts if p.text),
            language=info.language,
            duration=len(audio) / SAMPLE_RATE,
            segments=parts,
            redecoded=redecoded,
        )

    def _decode_again(self, audio: Samples, part: Segment, common: dict[str, Any]) -> Segment:
        """`part` decoded again where batched decoding looped (model_server.engines.
        decode_failure says why it can): sequentially, which retries at higher temperatures
        while the text still compresses too well, and then without the vocabulary hint, whose
        terms are what a loop tends to repeat. The first text that is no loop replaces it; if
        none is, the batched text stays (it may be what was said)."""
        stretch = audio[int(part.start * SAMPLE_RATE) : int(part.end * SAMPLE_RATE)]
        unhinted = common | {"initial_prompt": None, "hotwords": None}
        for options in (common, unhinted):
            segments, _ = self.model.transcribe(stretch, vad_filter=False, **options)
            text = " ".join(s.text.strip() for s in segments if s.text.strip())
            if text and not failed_decode(text):
                return Segment(part.start, part.end, text)
        return part


def _resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
