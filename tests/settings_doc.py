"""docs/settings.md against the commands that generate it (both settings tests use this)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SETTINGS_DOC = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def documented_table(heading: str) -> str:
    """The text under `heading` up to the next heading of its level, without surrounding blank
    lines: exactly what was pasted there."""
    document = SETTINGS_DOC.read_text()
    body = document.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    return body.strip("\n") + "\n"


def printed_table(cli_module: str) -> str:
    """What `python -m <cli_module> settings` prints."""
    return subprocess.run(
        [sys.executable, "-m", cli_module, "settings"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
