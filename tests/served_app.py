"""Runs `appliance init` + `appliance serve` as real processes on a free loopback port."""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.dictation_form import DICTATION_FORM


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    base: str
    process: subprocess.Popen[str]
    setup_path: str
    log: Path
    data_dir: Path

    def add_user(self, name: str, role: str, password: str) -> None:
        """`appliance user add --password-stdin`, as a script or Ansible would."""
        subprocess.run(
            [
                sys.executable,
                "-m",
                "appliance.cli",
                "user",
                "add",
                name,
                "--role",
                role,
                "--password-stdin",
            ],
            input=password + "\n",
            text=True,
            env={**os.environ, "APPLIANCE_DATA_DIR": str(self.data_dir)},
            check=True,
            capture_output=True,
        )


@contextmanager
def serve_appliance(workdir: Path, init: bool = True, **settings: str) -> Iterator[Served]:
    """`appliance init` (unless `init` is False: a restart on the same data) and `serve`."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")},
        "APPLIANCE_DATA_DIR": str(workdir / "data"),
        "APPLIANCE_PORT": str(port),
        **{f"APPLIANCE_{name.upper()}": value for name, value in settings.items()},
    }
    cli = [sys.executable, "-m", "appliance.cli"]
    setup_path = ""
    if init:
        done = subprocess.run([*cli, "init"], env=env, capture_output=True, text=True, check=True)
        setup = re.search(r"http://127\.0\.0\.1:\d+(/setup/[\w-]+)", done.stdout)
        assert setup, done.stdout
        setup_path = setup.group(1)
    log = workdir / "serve.log"
    with log.open("a") as sink:
        process = subprocess.Popen(
            [*cli, "serve"], env=env, stdout=sink, stderr=subprocess.STDOUT, text=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("appliance serve did not become healthy:\n" + log.read_text())
        yield Served(base, process, setup_path, log, workdir / "data")
    finally:
        process.terminate()
        process.wait(timeout=10)


class LoopbackBrowser:
    """Keeps cookies by hand: like a real browser, treat http://127.0.0.1 as a secure context."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=10)
        self.cookies: dict[str, str] = {}

    def _remember(self, response: httpx.Response) -> httpx.Response:
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";")[0].strip('"')
            if (
                "max-age=0" in header.lower()
                or "expires=thu, 01 jan 1970" in header.lower()
                or not value
            ):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    def cookie_header(self) -> dict[str, str]:
        return {"cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def get(self, path: str) -> httpx.Response:
        return self._remember(self.http.get(path, headers=self.cookie_header()))

    def form_token(self, page: str) -> str:
        token = re.search(r'name="csrf_token" value="([^"]+)"', self.get(page).text)
        assert token, f"no form on {page}"
        return token.group(1)

    def post(self, path: str, data: dict[str, str], page: str) -> httpx.Response:
        fields = {"csrf_token": self.form_token(page), **data}
        return self._remember(self.http.post(path, data=fields, headers=self.cookie_header()))

    def add_client(self, name: str = "Ann A") -> str:
        """A new client through the form; its id."""
        created = self.post(
            "/clients",
            {"display_name": name, "external_id": "", "date_of_birth": ""},
            "/clients/new",
        )
        return created.headers["location"].split("/")[2].split("?")[0]

    def dictation_form(self, client_id: str) -> dict[str, str]:
        """DICTATION_FORM with the CSRF token of this person's new-dictation page."""
        return {
            "csrf_token": self.form_token(f"/clients/{client_id}/dictations/new"),
            **DICTATION_FORM,
        }


@dataclass
class Running:
    process: subprocess.Popen[str]
    lines: list[str]
    speech_url: str
    llm_url: str
    llm_backend_url: str  # llama.cpp's own server, behind the LLM front: never announced


@contextmanager
def run_model_server() -> Iterator[Running]:
    """`model-server run --profile cpu` on free ports, until both services announce themselves."""
    ports = {name: free_port() for name in ("SPEECH_PORT", "LLM_PORT", "LLM_BACKEND_PORT")}
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MODEL_SERVER_")},
        **{f"MODEL_SERVER_{k}": str(v) for k, v in ports.items()},
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "model_server.cli", "run", "--profile", "cpu"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    ready: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if " ready: " in line:
                ready.put(line.strip())

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    announced = {}
    deadline = time.monotonic() + 180
    try:
        while len(announced) < 2 and time.monotonic() < deadline:
            try:
                name, url = ready.get(timeout=1).split(" ready: ")
                announced[name] = url
            except queue.Empty:
                assert process.poll() is None, "".join(lines)
        assert set(announced) == {"speech", "llm"}, "".join(lines)
        backend = f"http://127.0.0.1:{ports['LLM_BACKEND_PORT']}/v1"
        yield Running(process, lines, announced["speech"], announced["llm"], backend)
    finally:
        process.terminate()
        process.wait(timeout=30)
        reader.join(timeout=10)
        process.stdout.close()
