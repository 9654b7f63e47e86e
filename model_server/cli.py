"""`model-server` command line. The services themselves arrive with issue #4."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="model-server",
        description="Run the local speech-to-text and LLM services (OpenAI-compatible APIs).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start and supervise the model services")
    run.add_argument("--profile", choices=["cpu", "gpu"], default="cpu")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        # Said plainly rather than pretending: nothing is served until the engines exist.
        print(
            f"model-server: the {args.profile} profile is not available in this build yet",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
