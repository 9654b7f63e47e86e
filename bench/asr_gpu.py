"""openai-whisper on a CUDA GPU: does the engine's fp16 path work on real weights, and how fast?

Run on a GPU machine with only torch, openai-whisper and numpy installed (no PyAV, no web
stack), so it reads audio that `--prepare` decoded beforehand on the development machine:

    python -m bench.asr_gpu --prepare DIR        # here: 16 kHz int16 .npy + scripts + manifest
    python -m bench.asr_gpu --checkpoint tiny.en.pt --samples DIR   # there

It checks what tests/model_server/test_openai_whisper_engine.py checks on CUDA (fp16 weights,
fp32 LayerNorms), then transcribes the six committed dictations with the appliance's engine and
with whisper as `load_model` leaves it (fp32 parameters cast at every call), and prints a table:
wall time, real-time factor, word error rate, key-term recall, peak GPU memory.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from model_server.engines.base import SAMPLE_RATE, TranscribeOptions
from model_server.wer import term_recall, word_error_rate

DICTATIONS = Path(__file__).resolve().parents[1] / "tests/fixtures/dictations"
REPEATS = 3


def prepare(out: Path) -> None:
    from speech_io.audio import decode

    out.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((DICTATIONS / "manifest.json").read_text())["dictations"]
    items = []
    for item in manifest:
        audio = decode((DICTATIONS / item["audio"]).read_bytes(), max_seconds=1800)
        name = Path(item["audio"]).stem
        pcm = np.clip(np.asarray(audio.samples) * 32767, -32768, 32767).astype(np.int16)
        np.save(out / f"{name}.npy", pcm)
        script = (DICTATIONS / item["script"]).read_text()
        items.append({"name": name, "script": script, "key_terms": item["key_terms"]})
    (out / "manifest.json").write_text(json.dumps(items))
    print(f"prepared {len(items)} dictations in {out}")


def _stock_whisper(checkpoint: Path) -> Any:
    """What `whisper.load_model` gives anyone who does not know better: fp32 parameters."""
    import whisper

    return whisper.load_model(str(checkpoint.resolve()), device="cuda")


def measure(checkpoint: Path, samples: Path) -> int:
    import torch

    from model_server.engines.openai_whisper_engine import OpenAIWhisperEngine

    if not torch.cuda.is_available():
        print("no CUDA device", file=sys.stderr)
        return 2
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    items = json.loads((samples / "manifest.json").read_text())
    audio = {
        item["name"]: np.load(samples / f"{item['name']}.npy").astype(np.float32) / 32767
        for item in items
    }
    total_audio = sum(len(a) for a in audio.values()) / SAMPLE_RATE

    started = time.perf_counter()
    engine = OpenAIWhisperEngine(checkpoint, device="cuda")
    load_s = time.perf_counter() - started
    norms = [m for m in engine.model.modules() if isinstance(m, torch.nn.LayerNorm)]
    checks = {
        "LayerNorm parameters fp32": bool(norms)
        and all(p.dtype == torch.float32 for m in norms for p in m.parameters()),
        "conv1 weight fp16": engine.model.encoder.conv1.weight.dtype == torch.float16,
        "token embedding fp16": engine.model.decoder.token_embedding.weight.dtype == torch.float16,
    }
    for name, ok in checks.items():
        print(f"check: {name}: {'ok' if ok else 'FAILED'}")

    def run(transcribe: Any) -> dict[str, float]:
        torch.cuda.reset_peak_memory_stats()
        wall, rates, recalls = 0.0, [], []
        for item in items:
            times = []
            for _ in range(REPEATS):
                torch.cuda.synchronize()
                begun = time.perf_counter()
                text = transcribe(audio[item["name"]])
                torch.cuda.synchronize()
                times.append(time.perf_counter() - begun)
            wall += min(times)  # best of REPEATS: other work only ever adds time
            rates.append(word_error_rate(item["script"], text))
            recalls.append(term_recall(item["key_terms"], text))
        return {
            "wall_s": wall,
            "rtf": wall / total_audio,
            "wer": sum(rates) / len(rates),
            "recall": sum(recalls) / len(recalls),
            "peak_mb": torch.cuda.max_memory_allocated() / 2**20,
        }

    options = TranscribeOptions(language="en")
    rows = {
        "appliance engine: fp16 weights, fp32 LayerNorm, beam 5": run(
            lambda a, e=engine: e.transcribe(a, options).text
        )
    }
    del engine
    torch.cuda.empty_cache()
    stock = _stock_whisper(checkpoint)
    rows["stock load_model: fp32 weights cast to fp16 per call, beam 5"] = run(
        lambda a: stock.transcribe(
            a,
            language="en",
            fp16=True,
            temperature=0.0,
            beam_size=5,
            condition_on_previous_text=False,
        )["text"]
    )
    print(f"\n{len(items)} dictations, {total_audio:.1f} s of audio; engine load {load_s:.1f} s\n")
    print("| engine | wall s | RTF | WER | key-term recall | peak GPU MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, r in rows.items():
        print(
            f"| {label} | {r['wall_s']:.2f} | {r['rtf']:.4f} | {r['wer']:.3f} "
            f"| {r['recall']:.3f} | {r['peak_mb']:.0f} |"
        )
    return 0 if all(checks.values()) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prepare", type=Path, help="decode the dictations into this folder")
    parser.add_argument("--checkpoint", type=Path, help="openai-whisper checkpoint (.pt)")
    parser.add_argument("--samples", type=Path, help="folder written by --prepare")
    args = parser.parse_args(argv)
    if args.prepare:
        prepare(args.prepare)
        return 0
    if not (args.checkpoint and args.samples):
        parser.error("give --prepare DIR, or --checkpoint and --samples")
    return measure(args.checkpoint, args.samples)


if __name__ == "__main__":
    sys.exit(main())
