"""The new-dictation form's details as a clinician fills them in (tests override what they
test). Data only, importing nothing: the load benchmark's Locust user (bench/load_clinician.py)
uses it too, under gevent's monkey-patching."""

DICTATION_FORM = {
    "session_date": "2026-11-20",
    "start_time": "",
    "duration_minutes": "50",
    "service_code": "90834",
    "modality": "cbt",
    "note_format": "soap",
}
