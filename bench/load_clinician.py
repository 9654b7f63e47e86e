"""The Locust user of `make bench-load`: a clinician at the web UI, as their browser behaves.

bench/load.py starts Locust (headless) with this file and the environment below; it imports
nothing of the appliance (only the form's values, tests/dictation_form.py), since Locust runs
it under gevent's monkey-patching.

- LOAD_ACCOUNTS: the clinicians' usernames, comma-separated (Locust user n signs in as the
  n-th, wrapping round); LOAD_PASSWORD: their password.
- LOAD_THINK: "low,high" seconds between two actions (0,0 for none).

Each user signs in once, from an address of its own (X-Forwarded-For, which `appliance serve`
trusts from loopback as it would from nginx, so the per-address sign-in throttle sees 50
people, not one), then browses: the home page, the client list, a client's page, the notes to
sign, and now and then types a dictation: the new-dictation form, its POST (multipart, with
the form's CSRF token, as the browser sends it), the progress page, and the status poll every
2 s (webui/static/dictation-status.js) until the draft is ready, then the page again. Requests
are named by route template, so the statistics are per route.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import time
import uuid
from http.cookiejar import DefaultCookiePolicy

import gevent
from locust import FastHttpUser, between, constant, task

from tests.dictation_form import DICTATION_FORM

ACCOUNTS = os.environ.get("LOAD_ACCOUNTS", "").split(",")
PASSWORD = os.environ.get("LOAD_PASSWORD", "")
THINK_LOW, THINK_HIGH = (float(s) for s in os.environ.get("LOAD_THINK", "1,3").split(","))
POLL_SECONDS = 2.0  # as the progress page polls
# The page polls for as long as it is open; a simulated person gives up after this and the
# poll counts as a failure (a draft this late is an error the table should show).
POLL_LIMIT_SECONDS = 120.0
_numbers = itertools.count()

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CLIENT_LINK = re.compile(r'href="/clients/([0-9a-f-]{8,})"')
TYPED = (
    "Client reported sleeping about six hours most nights this week, up from four. "
    "She completed the thought record twice and noticed catastrophic predictions before meetings. "
    "We practised generating alternative explanations for a conflict with her manager. "
    "Mood rated five out of ten, anxiety six out of ten. "
    "She denies suicidal ideation, intent or plan. "
    "Homework: one thought record a day and a ten minute walk after lunch. "
    "Next session in one week."
)


def _multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    """The new-dictation form as the browser posts it: multipart, its file part empty."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename=""\r\n'
        "Content-Type: application/octet-stream\r\n\r\n\r\n"
    )
    parts.append(f"--{boundary}--\r\n")
    return "".join(parts).encode(), f"multipart/form-data; boundary={boundary}"


class Clinician(FastHttpUser):
    wait_time = between(THINK_LOW, THINK_HIGH) if THINK_HIGH > 0 else constant(0)

    def on_start(self) -> None:
        # Browsers treat http://127.0.0.1 as a secure context and send the Secure session
        # cookie to it; the cookie jar is told to do the same.
        self.client.cookiejar.set_policy(DefaultCookiePolicy(secure_protocols=("http", "https")))
        number = next(_numbers)
        self.username = ACCOUNTS[number % len(ACCOUNTS)]
        self.address = f"10.{number // 250 % 250}.{number % 250}.7"
        token = self._token("/login", "/login")
        fields = {"csrf_token": token, "username": self.username, "password": PASSWORD}
        self._post("/login", "/login", fields)
        self.clients = CLIENT_LINK.findall(self._get("/clients", "/clients"))

    def _headers(self, **more: str) -> dict[str, str]:
        return {"X-Forwarded-For": self.address, **more}

    def _get(self, path: str, name: str, **headers: str) -> str:
        with self.client.get(
            path, name=name, headers=self._headers(**headers), catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
            return response.text or ""

    def _token(self, page: str, name: str) -> str:
        found = CSRF.search(self._get(page, name))
        return found.group(1) if found else ""

    def _post(
        self, path: str, name: str, body: dict[str, str] | bytes, **headers: str
    ) -> str | None:
        """A form's POST, which answers 303 (redirects not followed): its Location."""
        with self.client.post(
            path,
            name=name,
            data=body,
            headers=self._headers(**headers),
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 303:
                response.failure(f"status {response.status_code}")
                return None
            return str(response.headers.get("location"))

    @task(3)
    def home(self) -> None:
        self._get("/", "/")

    @task(3)
    def client_list(self) -> None:
        self._get("/clients", "/clients")

    @task(4)
    def client_page(self) -> None:
        if self.clients:
            client_id = random.choice(self.clients)
            self._get(f"/clients/{client_id}", "/clients/{client_id}")

    @task(2)
    def notes_to_sign(self) -> None:
        self._get("/notes/to-sign", "/notes/to-sign")

    @task(1)
    def typed_dictation(self) -> None:
        if not self.clients:
            return
        client_id = random.choice(self.clients)
        form = f"/clients/{client_id}/dictations/new"
        token = self._token(form, "/clients/{client_id}/dictations/new")
        body, content_type = _multipart(
            {"csrf_token": token, **DICTATION_FORM, "typed_text": TYPED}
        )
        page = self._post(
            f"/clients/{client_id}/dictations",
            "/clients/{client_id}/dictations",
            body,
            **{"Content-Type": content_type},
        )
        if page is None:
            return
        self._get(page, "/dictations/{dictation_id}")
        self._poll(page)
        self._get(f"{page}?auto=1", "/dictations/{dictation_id}")

    def _poll(self, page: str) -> None:
        given_up = time.monotonic() + POLL_LIMIT_SECONDS
        while True:
            gevent.sleep(POLL_SECONDS)
            with self.client.get(
                f"{page}/status",
                name="/dictations/{dictation_id}/status",
                headers=self._headers(Accept="application/json", **{"X-Background-Poll": "1"}),
                catch_response=True,
            ) as response:
                if response.status_code != 200:
                    response.failure(f"status {response.status_code}")
                    return
                if response.json()["state"] in ("ready", "failed"):
                    return
                if time.monotonic() > given_up:
                    response.failure(f"no draft after {POLL_LIMIT_SECONDS:.0f} s")
                    return
