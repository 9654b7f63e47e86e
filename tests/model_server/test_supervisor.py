from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from model_server.commands import ServiceSpec
from model_server.supervisor import Supervisor
from tests.served_app import free_port

SERVICE = textwrap.dedent(
    """
    import http.server, sys
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
        def log_message(self, *args):
            pass
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
    """
)


def _spec(tmp_path: Path, name: str) -> ServiceSpec:
    script = tmp_path / "service.py"
    script.write_text(SERVICE)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    return ServiceSpec(name, [sys.executable, str(script), str(port)], f"{base}/", f"{base}/v1")


def test_it_announces_each_service_once_it_answers(tmp_path: Path) -> None:
    lines: list[str] = []
    supervisor = Supervisor([_spec(tmp_path, "speech"), _spec(tmp_path, "llm")], lines.append, 20)
    try:
        supervisor.start_all()
    finally:
        supervisor.stop_all()
    assert [line.split(" ready: ")[0] for line in lines] == ["speech", "llm"]
    assert all(line.endswith("/v1") for line in lines)


def test_it_restarts_a_crashed_service(tmp_path: Path) -> None:
    supervisor = Supervisor([_spec(tmp_path, "speech")], lambda _line: None, 20)
    try:
        supervisor.start_all()
        first = supervisor.running["speech"].process
        first.kill()
        first.wait()
        assert supervisor.check_once() == ["speech"]
        supervisor._wait_ready(supervisor.running["speech"].spec)
        assert supervisor.running["speech"].process.pid != first.pid
        assert supervisor.check_once() == []
    finally:
        supervisor.stop_all()


def test_a_service_that_dies_while_starting_is_reported(tmp_path: Path) -> None:
    spec = ServiceSpec(
        "llm", [sys.executable, "-c", "raise SystemExit(3)"], "http://127.0.0.1:9/", None
    )
    supervisor = Supervisor([spec], lambda _line: None, 20)
    try:
        with pytest.raises(RuntimeError, match="llm exited while starting"):
            supervisor.start_all()
    finally:
        supervisor.stop_all()


SUPERVISOR = textwrap.dedent(
    """
    import sys, time
    from model_server.commands import ServiceSpec
    from model_server.supervisor import Supervisor
    argv, health = sys.argv[1:-1], sys.argv[-1]
    supervisor = Supervisor([ServiceSpec("speech", argv, health, None)], print, 20)
    supervisor.start_all()
    print(supervisor.running["speech"].process.pid, flush=True)
    time.sleep(600)
    """
)


def test_a_killed_supervisor_takes_its_services_with_it(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "speech")
    with subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, *spec.argv, spec.health_url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    ) as supervisor:
        assert supervisor.stdout is not None
        service_pid = int(supervisor.stdout.readline())
        supervisor.kill()  # SIGKILL: the supervisor runs no cleanup of its own
        supervisor.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _alive(service_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(service_pid):
        os.kill(service_pid, signal.SIGKILL)
        pytest.fail("the service outlived its supervisor, holding its port")


def _alive(pid: int) -> bool:
    # A child of the killed supervisor is reparented to init, which reaps it once it exits.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "State:\tZ" not in status.read_text()


KEYED_SERVICE = textwrap.dedent(
    """
    import http.server, sys
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            keyed = self.headers.get("Authorization") == "Bearer " + sys.argv[2]
            self.send_response(200 if keyed else 401); self.end_headers()
        def log_message(self, *args):
            pass
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
    """
)


@pytest.mark.parametrize("sends_the_key", [True, False])
def test_the_health_check_sends_the_key_a_service_requires(
    tmp_path: Path, sends_the_key: bool
) -> None:
    """llama.cpp's server behind the LLM front requires its key on every route, /v1/models
    (its health check) included: without it the supervisor would wait for it forever."""
    script = tmp_path / "keyed.py"
    script.write_text(KEYED_SERVICE)
    port = free_port()
    spec = ServiceSpec(
        "llm-backend",
        [sys.executable, str(script), str(port), "s3cret"],
        f"http://127.0.0.1:{port}/v1/models",
        None,
        health_headers={"Authorization": "Bearer s3cret"} if sends_the_key else {},
    )
    supervisor = Supervisor([spec], lambda _line: None, 3)
    try:
        if sends_the_key:
            supervisor.start_all()
        else:
            with pytest.raises(RuntimeError, match="did not become ready"):
                supervisor.start_all()
    finally:
        supervisor.stop_all()
