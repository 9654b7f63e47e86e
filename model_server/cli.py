"""`model-server` command line: run the services, or convert Whisper weights."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from model_server.commands import services_for
from model_server.logging_setup import configure_logging
from model_server.settings import ModelServerSettingsError, load_model_server_settings
from model_server.supervisor import Supervisor


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="model-server",
        description="Run the local speech-to-text and LLM services (OpenAI-compatible APIs).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start and supervise the model services")
    run.add_argument(
        "--profile",
        choices=["cpu", "gpu"],
        default="cpu",
        help="cpu: faster-whisper + llama.cpp (zero-config); gpu: Whisper on CUDA + vLLM",
    )
    convert = sub.add_parser(
        "convert-whisper", help="CTranslate2 Whisper folder -> openai-whisper .pt checkpoint"
    )
    convert.add_argument("source", type=Path)
    convert.add_argument("output", type=Path)
    sub.add_parser("settings", help="print every setting as a Markdown table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "settings":
        from model_server.settings import documented_settings

        print("| Environment variable | Default | Meaning |")
        print("|---|---|---|")
        for env, default, description in documented_settings():
            shown = f"`{default}`" if default else "*empty*"
            print(f"| `{env}` | {shown} | {description} |")
        return 0
    if args.command == "convert-whisper":
        from model_server.ct2_checkpoint import convert

        print(f"wrote {convert(args.source, args.output)}")
        return 0
    configure_logging()
    try:
        settings = load_model_server_settings()
        specs = services_for(args.profile, settings)
    except (ModelServerSettingsError, ValueError, FileNotFoundError) as exc:
        print(f"model-server: {exc}", file=sys.stderr)
        return 2
    try:
        Supervisor(specs, announce=lambda line: print(line, flush=True)).run_forever()
    except RuntimeError as exc:
        print(f"model-server: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
