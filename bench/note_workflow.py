"""`make bench` (notes): an autosave, a signature and a 50-note client export, through a real
`appliance serve` on loopback, drafting with the stand-in LLM (drafting is measured elsewhere:
bench.pipeline). One sequential client. Prints a table; not a test.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.fake_llm import fake_llm
from tests.served_app import LoopbackBrowser, serve_appliance

PASSWORD = "quiet-harbour-lantern-47"
NOTES = 50
# Twenty sentences, risk addressed, no score out of scale: a note with nothing to acknowledge.
SESSION = " ".join(
    [
        "Client reports sleeping better since the last session.",
        "She completed the thought record homework on four days.",
        "She describes work stress as the main trigger this week.",
        "Mood was rated five out of ten on average.",
        "Client appeared calm, with full affect and good eye contact.",
        "Speech was normal in rate and volume.",
        "We reviewed the thought record together.",
        "We practiced cognitive restructuring of the thought that she always fails.",
        "We identified two alternative balanced thoughts.",
        "She was able to rate her belief in the original thought lower by the end.",
        "We introduced behavioural activation with a weekly activity plan.",
        "She chose a walk on three mornings as her first activity.",
        "Client engaged well and asked useful questions.",
        "Progress toward the goal of reducing avoidance is steady.",
        "Her insight into the pattern of catastrophic thinking is improving.",
        "She denied suicidal and homicidal ideation.",
        "No safety concerns were identified today.",
        "Plan to continue weekly CBT sessions.",
        "Homework is a thought record on three days and the activity plan.",
        "Next session in one week.",
    ]
)


def _row(name: str, times: list[float], target: str = "") -> str:
    p95 = statistics.quantiles(times, n=20)[18] if len(times) >= 2 else times[0]
    return (
        f"| {name:<44} | {len(times):>4} | {statistics.median(times):>8.2f} | {p95:>8.2f} "
        f"| {target:<10} |"
    )


def _wait_ready(browser: LoopbackBrowser, dictation_id: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if browser.get(f"/dictations/{dictation_id}/status").json()["state"] == "ready":
            return
        time.sleep(0.2)
    raise RuntimeError(f"dictation {dictation_id} was not drafted in time")


def _field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
    assert found, name
    return found.group(1)


def main() -> int:
    rows: list[str] = []
    with (
        tempfile.TemporaryDirectory() as workdir,
        fake_llm() as llm,
        serve_appliance(Path(workdir), llm_url=llm.base_url, workers="2") as served,
    ):
        served.add_user("alice", "clinician", PASSWORD)
        alice = LoopbackBrowser(served.base)
        alice.post("/login", {"username": "alice", "password": PASSWORD}, "/login")
        alice.post("/account/signature-line", {"signature_line": "Alice Smith, LMFT"}, "/account")
        client_id = alice.add_client()
        dictation_ids = []
        for _ in range(NOTES):
            form = {**alice.dictation_form(client_id), "typed_text": SESSION}
            created = alice.http.post(
                f"/clients/{client_id}/dictations",
                data=form,
                files={"file": ("", b"", "application/octet-stream")},
                headers={**alice.cookie_header(), "accept": "application/json"},
            )
            assert created.status_code == 201, created.text[:300]
            dictation_ids.append(created.json()["location"].rsplit("/", 1)[1])
        for dictation_id in dictation_ids:
            _wait_ready(alice, dictation_id)

        saves, signatures = [], []
        for dictation_id in dictation_ids:
            page = alice.get(f"/dictations/{dictation_id}").text
            note_id = re.search(r'href="/notes/([0-9a-f]{32})"', page)
            assert note_id, "a ready dictation links to its note"
            url = f"/notes/{note_id.group(1)}"
            review = alice.get(url).text
            form_fields = dict(
                re.findall(r'<input type="hidden" name="(st-\d+-id)" value="([^"]*)"', review)
            )
            form_fields.update(
                re.findall(
                    r'<select name="(st-\d+-section)"[^>]*>.*?<option value="([^"]+)" selected',
                    review,
                    re.S,
                )
            )
            texts = dict(re.findall(r'name="(st-\d+-text)"[^>]*>([^<]*)</textarea>', review))
            token, version = _field(review, "csrf_token"), _field(review, "version")
            texts["st-1-text"] = texts["st-1-text"].strip() + " (reviewed)"
            started = time.perf_counter()
            saved = alice.http.post(
                url,
                data={"csrf_token": token, "version": version, **form_fields, **texts},
                headers={**alice.cookie_header(), "accept": "application/json"},
            )
            saves.append((time.perf_counter() - started) * 1000)
            assert saved.status_code == 200, saved.text[:300]
            started = time.perf_counter()
            signed = alice.http.post(
                f"{url}/sign",
                data={
                    "csrf_token": token,
                    "version": str(saved.json()["version"]),
                    "password": PASSWORD,
                },
                headers=alice.cookie_header(),
            )
            signatures.append((time.perf_counter() - started) * 1000)
            assert signed.status_code == 303, signed.text[:300]
        rows.append(_row("POST /notes/{id} (autosave, 20 statements)", saves))
        rows.append(_row("POST /notes/{id}/sign (argon2 re-auth incl.)", signatures, "<= 100"))

        started = time.perf_counter()
        requested = alice.post(f"/clients/{client_id}/export", {}, f"/clients/{client_id}")
        export = requested.headers["location"]
        deadline = time.monotonic() + 600
        while alice.get(f"{export}/status").json()["state"] != "ready":
            if time.monotonic() > deadline:
                raise RuntimeError("the export was not ready in time")
            time.sleep(0.1)
        built = (time.perf_counter() - started) * 1000
        token = _field(alice.get(export).text, "csrf_token")
        started = time.perf_counter()
        download = alice.http.post(
            f"{export}/download", data={"csrf_token": token}, headers=alice.cookie_header()
        )
        fetched = (time.perf_counter() - started) * 1000
        assert download.status_code == 200, download.text[:300]
        rows.append(_row(f"client export, {NOTES} signed notes (request->ready)", [built]))
        rows.append(_row(f"export download ({len(download.content) / 1e6:.1f} MB zip)", [fetched]))
    print(f"\nNotes through `appliance serve` (loopback, one client, {NOTES} notes)\n")
    print("| step | n | p50 ms | p95 ms | target ms |")
    print("|---|---:|---:|---:|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except httpx.HTTPError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        sys.exit(1)
