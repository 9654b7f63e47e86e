from __future__ import annotations

import sys
import textwrap
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
