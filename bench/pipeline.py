"""`make bench` (pipeline part): submit -> ready latency through the real services.

Starts `model-server run --profile cpu` and `appliance serve` (2 workers) on loopback, signs in
as a clinician over HTTP, and submits dictations made by joining the committed espeak-ng
recordings: 1-minute and 5-minute ones, then 20 at once. Model time is read from the
appliance's own stage histograms (transcribing + drafting, which wait on the models); the rest
of submit -> ready is the appliance's overhead. Prints tables; not a test.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

from speech_io.audio import decode
from tests.served_app import LoopbackBrowser, run_model_server, serve_appliance
from tests.wav import wav_bytes

DICTATIONS = Path(__file__).resolve().parents[1] / "tests/fixtures/dictations"
PASSWORD = "quiet-harbour-lantern-47"


def speech_wav(seconds: float) -> bytes:
    """A wav of real dictation speech, the committed recordings joined to the length asked."""
    manifest = json.loads((DICTATIONS / "manifest.json").read_text())["dictations"]
    pieces = [
        decode((DICTATIONS / d["audio"]).read_bytes(), max_seconds=600).samples for d in manifest
    ]
    return wav_bytes(np.concatenate(pieces * int(seconds // 250 + 1))[: int(seconds * 16000)])


def _stage_sums(http: httpx.Client) -> dict[str, float]:
    text = http.get("/metrics").text
    sums = re.findall(
        r'^appliance_job_stage_duration_seconds_sum\{stage="(\w+)"\} (\S+)$', text, re.M
    )
    return {stage: float(value) for stage, value in sums}


def main() -> int:
    with (
        tempfile.TemporaryDirectory() as workdir,
        run_model_server() as models,
        serve_appliance(
            Path(workdir), speech_url=models.speech_url, llm_url=models.llm_url, workers="2"
        ) as served,
    ):
        served.add_user("alice", "clinician", PASSWORD)
        alice = LoopbackBrowser(served.base)
        alice.post("/login", {"username": "alice", "password": PASSWORD}, "/login")
        client_id = alice.add_client("Bench")
        form = alice.dictation_form(client_id)
        cookies = alice.cookie_header()

        def submit_and_wait(audio: bytes) -> float:
            with httpx.Client(base_url=served.base, timeout=60) as http:
                started = time.perf_counter()
                reply = http.post(
                    f"/clients/{client_id}/dictations",
                    data=form,
                    files={"file": ("bench.wav", audio, "audio/wav")},
                    headers=cookies,
                )
                assert reply.status_code == 303, reply.text[:300]
                status_url = reply.headers["location"] + "/status"
                while True:
                    state = http.get(
                        status_url, headers={**cookies, "X-Background-Poll": "1"}
                    ).json()
                    if state["state"] in ("ready", "failed"):
                        assert state["state"] == "ready", state
                        return time.perf_counter() - started
                    time.sleep(0.1)

        rows = []
        with httpx.Client(base_url=served.base) as metrics:
            for label, seconds, runs in (
                ("1-minute dictation", 60, 5),
                ("5-minute dictation", 300, 3),
            ):
                audio = speech_wav(seconds)
                before = _stage_sums(metrics)
                times = [submit_and_wait(audio) for _ in range(runs)]
                after = _stage_sums(metrics)
                model = sum(
                    after.get(s, 0) - before.get(s, 0) for s in ("transcribing", "drafting")
                )
                total = sum(times)
                rows.append(
                    (label, runs, statistics.median(times), max(times), (total - model) / total)
                )
            audio = speech_wav(60)
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=20) as pool:
                burst = list(pool.map(submit_and_wait, [audio] * 20))
            burst_total = time.perf_counter() - started
        alice.http.close()
    print(
        "| submit -> ready (2 cores, Whisper base + SmolLM2, 2 workers) | runs | p50 s | max s "
        "| appliance overhead |"
    )
    print("|---|---:|---:|---:|---:|")
    for label, runs, p50, worst, overhead in rows:
        print(f"| {label} | {runs} | {p50:.1f} | {worst:.1f} | {overhead:.1%} |")
    print(
        f"\n20 simultaneous 1-minute dictations: all {len(burst)} ready, none lost; "
        f"{burst_total:.1f} s in total, slowest {max(burst):.1f} s."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
