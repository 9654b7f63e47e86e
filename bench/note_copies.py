"""`make bench` (note copies part): what the signed note's PDF and FHIR copies cost to make.

The note is tests.appliance.notes.signed_samples' co-signed one: 20 statements, the CBT details,
an acknowledged flag, two addenda and the co-signature. The copies are made in process from the
signed records, as a download or an export does after opening them (the opening is not timed).
Warm-up runs first (the first render also registers the fonts, timed on its own line), then
ROUNDS runs of each. Prints a table; not a test.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from appliance.notes import fhir
from appliance.notes.pdf import render_pdf
from tests.appliance.notes.signed_samples import cosigned_note

ROUNDS = 50
WARM_UP = 5
PDF_TARGET_MS = 100.0
FHIR_TARGET_MS = 20.0


def _timed(call: Callable[[], Any]) -> list[float]:
    for _ in range(WARM_UP):
        call()
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _row(name: str, times: list[float], target: float) -> str:
    p50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[18]
    verdict = "yes" if p95 <= target else "NO"
    return f"| {name} | {len(times)} | {p50:.1f} | {p95:.1f} | <= {target:.0f} | {verdict} |"


def main() -> int:
    records = cosigned_note()
    started = time.perf_counter()
    pdf = render_pdf(records)
    first = (time.perf_counter() - started) * 1000
    statements = sum(len(s["statements"]) for s in records.note.document["sections"])

    def fhir_copy() -> str:
        resources = fhir.note_resources(records, pdf)
        return json.dumps(fhir.bundle(resources, f"note-copy-{records.note_id}"))

    rows = [
        _row("render_pdf (PDF bytes)", _timed(lambda: render_pdf(records)), PDF_TARGET_MS),
        _row(
            "FHIR Bundle: DocumentReferences + JSON",
            _timed(fhir_copy),
            FHIR_TARGET_MS,
        ),
    ]
    print(
        f"Note: {statements} statements, {len(records.addenda)} addenda, co-signed; "
        f"PDF {len(pdf) / 1024:.1f} KiB, FHIR Bundle {len(fhir_copy()) / 1024:.1f} KiB."
    )
    print("| copy (in process, 1 thread) | runs | p50 ms | p95 ms | target p95 ms | met |")
    print("|---|---:|---:|---:|---:|---|")
    for row in rows:
        print(row)
    print(f"\nFirst render in this process (registers DejaVu Sans): {first:.1f} ms.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
