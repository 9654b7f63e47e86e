"""The `reverse_proxy` role: nginx configured for real on this machine, then started and used.

The role runs in a mount namespace with /etc, /var/log and /var/lib/nginx overlaid by folders
of the test (and a fresh /run), so it writes Debian's real nginx layout without touching this
machine's. `reverse_proxy_runtime: false` keeps it from starting nginx; the test then starts
nginx itself, in the same overlay, with the role's configuration and on free loopback ports:

    client --TLS--> nginx public site --> tee --> `appliance serve`
    client --TLS--> nginx metrics listener -----^
    client --> nginx model gateway --TLS--> nginx model front --> stub model service
                                   +--TLS--> an impostor (a certificate the clinic CA never signed)

The tee relays bytes between nginx and the app and keeps the request headers nginx sent, so the
forwarded headers are read as the app received them. Certificates come from a CA the test makes
(the hospital's case); the single box, given no certificate, makes its self-signed one. Each
host is its own ansible-playbook in a mount namespace and overlay of its own, so the two are
played side by side, and so are their second runs (with a refused box beside them).
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.ansible.overlay import Overlay
from tests.ansible.playbooks import (
    PlaybookRun,
    require_ansible_playbook,
    run_playbook,
    write_localhost_inventory,
    write_role_playbook,
)
from tests.served_app import Served, free_port, serve_appliance
from tests.tools import require_root, require_tool

# Each runs the role for real on this machine: `make test-roles`, never `make test`.
pytestmark = pytest.mark.roles

OVERLAID = ("/etc", "/var/log", "/var/lib/nginx")
SITE = "/etc/nginx/conf.d/appliance.conf"
TLS_DIR = "/etc/nginx/tls"
MODEL_NAME = "model-server.appliance.internal"
METRICS_TOKEN = "metrics-token-for-the-test-0123456789"
# The client connects from a second loopback address, so that what nginx forwards as the
# client's address is told apart from nginx's own 127.0.0.1.
CLIENT = "127.0.0.2"
IMPOSTOR = "127.0.0.3"
FORGED = "203.0.113.9"
MB = 1024 * 1024


# --- Certificates: a clinic CA, a certificate it signed, and an impostor's ---------------------


@dataclass(frozen=True)
class Pem:
    certificate: str
    key: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    common_name: str, signer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None, *, ca: bool
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer, signing_key = signer or (_name(common_name), key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        names: list[x509.GeneralName] = [
            x509.DNSName("localhost"),
            x509.DNSName(MODEL_NAME),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(signing_key, hashes.SHA256()), key


def _pem(certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Pem:
    return Pem(
        certificate.public_bytes(serialization.Encoding.PEM).decode(),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    )


@dataclass(frozen=True)
class Certificates:
    ca: Pem
    server: Pem
    impostor: Pem


def make_certificates() -> Certificates:
    ca_certificate, ca_key = _certificate("Test Clinic CA", None, ca=True)
    server = _certificate("localhost", (ca_certificate.subject, ca_key), ca=False)
    # Same names, not signed by the clinic CA.
    impostor = _certificate("localhost", None, ca=False)
    return Certificates(_pem(ca_certificate, ca_key), _pem(*server), _pem(*impostor))


# --- What stands behind nginx ---------------------------------------------------------------


@dataclass
class Tee:
    """Relays TCP from nginx to the app and keeps the request head of each connection."""

    target: int
    heads: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(downstream,), daemon=True).start()

    def _relay(self, downstream: socket.socket) -> None:
        with downstream, socket.create_connection(("127.0.0.1", self.target)) as upstream:
            back = threading.Thread(target=self._pump, args=(upstream, downstream, False))
            back.start()
            self._pump(downstream, upstream, True)
            back.join()

    def _pump(self, source: socket.socket, sink: socket.socket, request: bool) -> None:
        seen = b""
        try:
            while data := source.recv(65536):
                if request and b"\r\n\r\n" not in seen:
                    seen += data
                    if b"\r\n\r\n" in seen:
                        self.heads.append(seen.split(b"\r\n\r\n")[0].decode("latin-1"))
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)  # pass the end of the stream on
        except OSError:
            pass

    def close(self) -> None:
        self.listener.close()


class _Echo(BaseHTTPRequestHandler):
    """A model service stand-in: answers with the headers and body size it received."""

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        answer = json.dumps({"headers": dict(self.headers.items()), "received": len(body)})
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer.encode())

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Impostor:
    """A TLS server with a certificate the clinic CA did not sign; counts what reaches it."""

    address: str
    port: int
    context: ssl.SSLContext
    connections: int = 0
    request_bytes: int = 0

    def __post_init__(self) -> None:
        self.listener = socket.create_server((self.address, self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            raw.settimeout(5)
            with raw:
                try:
                    with self.context.wrap_socket(raw, server_side=True) as tls:
                        self.request_bytes += len(tls.recv(65536))
                except OSError:
                    pass  # the gateway hung up during the handshake, as it should

    def close(self) -> None:
        self.listener.close()


# --- The role, run and served ---------------------------------------------------------------


@dataclass(frozen=True)
class Ports:
    https: int = field(default_factory=free_port)
    metrics: int = field(default_factory=free_port)
    front_speech: int = field(default_factory=free_port)
    front_llm: int = field(default_factory=free_port)
    gateway_speech: int = field(default_factory=free_port)
    gateway_llm: int = field(default_factory=free_port)


@dataclass(frozen=True)
class Role:
    workdir: Path
    overlay: Overlay
    base_vars: dict[str, object]

    def run(self, *args: str, **overrides: object) -> PlaybookRun:
        return run_playbook(
            self.workdir / "reverse_proxy-playbook.yml",
            inventory=self.workdir / "inventory.yml",
            workdir=self.workdir,
            extra_vars=[self.base_vars, overrides],
            args=args,
            wrapper=self.overlay.wrapper(),
        )


def make_role(factory: pytest.TempPathFactory, name: str, role_vars: dict[str, object]) -> Role:
    require_ansible_playbook()
    require_root("the role runs in a mount namespace over /etc")
    require_tool("nginx", "the role checks its site with nginx -t, and the test serves with it")
    workdir = factory.mktemp(name)
    write_role_playbook(workdir, "reverse_proxy")
    write_localhost_inventory(workdir)
    overlay = Overlay(
        workdir / "overlay", require_tool("unshare", "the test overlays /etc"), OVERLAID
    )
    base_vars = {"reverse_proxy_runtime": False, "reverse_proxy_packages": [], **role_vars}
    return Role(workdir, overlay, base_vars)


@dataclass(frozen=True)
class Clinic:
    role: Role
    first_run: PlaybookRun
    ports: Ports
    certificates: Certificates
    tee: Tee
    echo: ThreadingHTTPServer
    impostor: Impostor

    def context(self, version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context(cadata=self.certificates.ca.certificate)
        if version is not None:
            context.minimum_version = context.maximum_version = version
        return context

    def https(
        self, port: int, method: str, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        connection = http.client.HTTPSConnection(
            "localhost", port, context=self.context(), timeout=10, source_address=(CLIENT, 0)
        )
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def error_log(self) -> str:
        path = self.role.overlay.root / "upper" / "var-log" / "nginx" / "error.log"
        return path.read_text() if path.exists() else ""


def _wait_for_port(port: int, process: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"nginx did not listen on {port}:\n{log.read_text()}")


@pytest.fixture(scope="module")
def served_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    # A 1 MB upload limit keeps the over-the-limit request small.
    with serve_appliance(
        tmp_path_factory.mktemp("app"), metrics_token=METRICS_TOKEN, max_upload_mb="1"
    ) as served:
        yield served


@dataclass(frozen=True)
class Backends:
    """What the clinic's nginx stands in front of, and the certificates it is given."""

    certificates: Certificates
    ports: Ports
    tee: Tee
    echo: ThreadingHTTPServer
    impostor: Impostor


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory, served_app: Served) -> Iterator[Backends]:
    certificates = make_certificates()
    ports = Ports()
    tee = Tee(int(served_app.base.rsplit(":", 1)[1]))
    echo = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    impostor_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    impostor_files = tmp_path_factory.mktemp("impostor")
    (impostor_files / "cert.pem").write_text(certificates.impostor.certificate)
    (impostor_files / "key.pem").write_text(certificates.impostor.key)
    impostor_context.load_cert_chain(impostor_files / "cert.pem", impostor_files / "key.pem")
    # The impostor listens where the gateway's second model host would, on the front's port.
    impostor = Impostor(IMPOSTOR, ports.front_speech, impostor_context)
    try:
        yield Backends(certificates, ports, tee, echo, impostor)
    finally:
        tee.close()
        echo.shutdown()
        echo.server_close()
        impostor.close()


def _clinic_role(factory: pytest.TempPathFactory, backends: Backends) -> Role:
    ports, certificates = backends.ports, backends.certificates
    echo_address = f"127.0.0.1:{backends.echo.server_address[1]}"
    return make_role(
        factory,
        "clinic",
        {
            # Read by the role for the app's address and upload limit.
            "appliance_settings": {"port": backends.tee.port, "max_upload_mb": 1},
            "model_server_settings": {"max_upload_mb": 1},
            "reverse_proxy_tls_certificate": certificates.server.certificate,
            "reverse_proxy_tls_private_key": certificates.server.key,
            "reverse_proxy_tls_ca_certificate": certificates.ca.certificate,
            # Every server on one host, as no inventory has it, to test them together.
            "reverse_proxy_app_site": True,
            "reverse_proxy_model_front": True,
            "reverse_proxy_model_gateway": True,
            "reverse_proxy_listen_addresses": ["127.0.0.1"],
            "reverse_proxy_https_port": ports.https,
            "reverse_proxy_metrics_port": ports.metrics,
            "reverse_proxy_metrics_allow": ["127.0.0.0/8"],
            "reverse_proxy_model_front_allow": ["127.0.0.0/8"],
            "reverse_proxy_model_speech_address": echo_address,
            "reverse_proxy_model_llm_address": echo_address,
            "reverse_proxy_model_front_speech_port": ports.front_speech,
            "reverse_proxy_model_front_llm_port": ports.front_llm,
            "reverse_proxy_model_gateway_speech_port": ports.gateway_speech,
            "reverse_proxy_model_gateway_llm_port": ports.gateway_llm,
            "reverse_proxy_model_gateway_servers": ["127.0.0.1", IMPOSTOR],
        },
    )


# The single box: no certificate given.
SINGLE_BOX_VARS: dict[str, object] = {
    "appliance_settings": {"public_url": "https://notes.clinic.test", "max_upload_mb": 100},
    "reverse_proxy_self_signed_addresses": ["192.0.2.10"],
    "reverse_proxy_app_site": True,
    "reverse_proxy_model_front": False,
    "reverse_proxy_model_gateway": False,
    "reverse_proxy_listen_addresses": ["127.0.0.1"],
    "reverse_proxy_metrics_allow": ["127.0.0.1"],
}


def _single_box_role(factory: pytest.TempPathFactory, name: str) -> Role:
    return make_role(
        factory,
        name,
        {
            **SINGLE_BOX_VARS,
            "reverse_proxy_https_port": free_port(),
            "reverse_proxy_metrics_port": free_port(),
        },
    )


def _side_by_side(*runs: Callable[[], PlaybookRun]) -> list[PlaybookRun]:
    """Independent runs (each in a mount namespace and overlay of its own) at the same time:
    one ansible-playbook keeps about one core busy, and the build machines have two."""
    with ThreadPoolExecutor(len(runs)) as pool:
        return [future.result() for future in [pool.submit(run) for run in runs]]


@dataclass(frozen=True)
class FirstRuns:
    clinic: Role
    clinic_run: PlaybookRun
    single_box: Role
    single_box_run: PlaybookRun


@pytest.fixture(scope="module")
def first_runs(tmp_path_factory: pytest.TempPathFactory, backends: Backends) -> FirstRuns:
    """The clinic's host and the single box, each played once, side by side."""
    clinic = _clinic_role(tmp_path_factory, backends)
    single_box = _single_box_role(tmp_path_factory, "single-box")
    clinic_run, single_box_run = _side_by_side(clinic.run, single_box.run)
    assert clinic_run.returncode == 0, clinic_run.output
    assert single_box_run.returncode == 0, single_box_run.output
    return FirstRuns(clinic, clinic_run, single_box, single_box_run)


@pytest.fixture(scope="module")
def clinic(backends: Backends, first_runs: FirstRuns) -> Iterator[Clinic]:
    role, ports = first_runs.clinic, backends.ports
    log = role.workdir / "nginx.log"
    with log.open("w") as sink:
        # The master in the foreground, as root (it reads the key), in the role's overlay.
        nginx = subprocess.Popen(
            [*role.overlay.wrapper(), "nginx", "-g", "daemon off;"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    try:
        for port in (ports.https, ports.metrics, ports.gateway_speech):
            _wait_for_port(port, nginx, log)
        yield Clinic(
            role,
            first_runs.clinic_run,
            ports,
            backends.certificates,
            backends.tee,
            backends.echo,
            backends.impostor,
        )
    finally:
        os.killpg(nginx.pid, signal.SIGTERM)
        try:
            nginx.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(nginx.pid, signal.SIGKILL)
            nginx.wait()


@dataclass(frozen=True)
class SecondRuns:
    clinic: PlaybookRun
    single_box: PlaybookRun
    single_box_fingerprint_before: bytes
    single_box_fingerprint_after: bytes
    limit_below_the_apps: PlaybookRun


@pytest.fixture(scope="module")
def second_runs(tmp_path_factory: pytest.TempPathFactory, first_runs: FirstRuns) -> SecondRuns:
    """Both hosts a second time, beside a box whose nginx limit is below the app's (a fresh
    overlay of its own: preflight refuses it before any change)."""
    before = _certificate_of(first_runs.single_box).fingerprint(hashes.SHA256())
    refused = _single_box_role(tmp_path_factory, "limit-below-the-apps")
    clinic, single_box, limit = _side_by_side(
        first_runs.clinic.run,
        first_runs.single_box.run,
        lambda: refused.run(
            appliance_settings={"max_upload_mb": 200}, reverse_proxy_client_max_body_size_mb=100
        ),
    )
    after = _certificate_of(first_runs.single_box).fingerprint(hashes.SHA256())
    return SecondRuns(clinic, single_box, before, after, limit)


def _handshake(clinic: Clinic, version: ssl.TLSVersion) -> str:
    context = clinic.context(version)
    # Let this client offer old protocols at all: the refusal must be the server's.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with (
        socket.create_connection(("127.0.0.1", clinic.ports.https), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        return str(tls.version())


def test_it_accepts_tls_1_2_and_1_3(clinic: Clinic) -> None:
    assert _handshake(clinic, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert _handshake(clinic, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"


def test_it_refuses_tls_1_1(clinic: Clinic) -> None:
    with pytest.raises(ssl.SSLError) as refused, warnings.catch_warnings():
        # Python deprecates TLS 1.1 itself; this client offers it on purpose.
        warnings.simplefilter("ignore", DeprecationWarning)
        _handshake(clinic, ssl.TLSVersion.TLSv1_1)
    # The server's "protocol version" alert. (An nginx that allowed TLS 1.1 on OpenSSL 3 fails
    # differently, with an "internal error" alert, so this tells the two apart.)
    assert refused.value.reason == "TLSV1_ALERT_PROTOCOL_VERSION"


def test_it_sets_mozilla_intermediate_tls_on_every_tls_server(clinic: Clinic) -> None:
    # Debian's nginx.conf allows TLS 1.0 and 1.1 at the http level: each server must override it.
    site = clinic.role.overlay.read(SITE)
    servers = site.count(" ssl;\n")
    assert servers == 4  # public, metrics, model front speech and llm
    for directive in (
        "ssl_protocols TLSv1.2 TLSv1.3;",
        "ssl_prefer_server_ciphers off;",
        "ssl_session_tickets off;",
    ):
        assert len(re.findall(rf"^\s+{directive}$", site, re.MULTILINE)) == servers, directive
    assert re.search(r"\bDHE-", site) is None  # ECDHE only: no dhparam needed
    assert "server_tokens off;" in site


def test_it_sends_exactly_one_hsts_header_the_apps(clinic: Clinic) -> None:
    status, headers, _ = clinic.https(clinic.ports.https, "GET", "/login")
    assert status == 200
    assert headers.get_all("strict-transport-security") == ["max-age=63072000"]
    assert headers["x-request-id"]  # the app answered, through nginx


def test_it_replaces_a_forged_x_forwarded_for_and_passes_the_host(clinic: Clinic) -> None:
    before = len(clinic.tee.heads)
    forged = {"X-Forwarded-For": FORGED, "X-Real-IP": FORGED, "Forwarded": f"for={FORGED}"}
    status, _, _ = clinic.https(clinic.ports.https, "GET", "/healthz", forged)
    assert status == 200
    heads = clinic.tee.heads[before:]
    assert len(heads) == 1, heads
    lines = heads[0].lower().split("\r\n")
    assert f"x-forwarded-for: {CLIENT}" in lines
    assert "x-forwarded-proto: https" in lines
    assert f"host: localhost:{clinic.ports.https}" in lines
    assert FORGED not in heads[0]


def _answer_before_the_body(clinic: Clinic, length: int) -> str:
    """What nginx answers a POST announcing `length` bytes (Expect: 100-continue) before any
    byte of the body is sent: 100 Continue to go on, or a refusal."""
    head = (
        f"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Length: {length}\r\n"
        "Content-Type: application/octet-stream\r\nExpect: 100-continue\r\n\r\n"
    )
    with (
        socket.create_connection(("127.0.0.1", clinic.ports.https), timeout=10) as raw,
        clinic.context().wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(head.encode())
        return tls.recv(65536).decode("latin-1")


def test_it_answers_413_itself_for_a_body_over_the_limit(clinic: Clinic) -> None:
    # The app accepts 1 MB uploads; nginx, 2 MB (1 MB more for the form around the recording).
    answer = _answer_before_the_body(clinic, 2 * MB + 1)
    assert answer.startswith("HTTP/1.1 413 "), answer
    assert "x-request-id" not in answer.lower()  # nginx's answer, not the app's


def test_it_takes_a_body_at_the_limit(clinic: Clinic) -> None:
    answer = _answer_before_the_body(clinic, 2 * MB)
    assert answer.startswith("HTTP/1.1 100 Continue"), answer


def test_it_hides_metrics_on_the_public_port(clinic: Clinic) -> None:
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    for path in ("/metrics", "/metrics/", "/%6Detrics"):
        status, headers, _ = clinic.https(clinic.ports.https, "GET", path, bearer)
        assert status == 404, path
        assert "x-request-id" not in headers, path


def test_it_serves_metrics_only_on_the_metrics_port(clinic: Clinic) -> None:
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    status, _, body = clinic.https(clinic.ports.metrics, "GET", "/metrics", bearer)
    assert status == 200
    assert b"# TYPE " in body
    for path in ("/healthz", "/login", "/"):
        status, headers, _ = clinic.https(clinic.ports.metrics, "GET", path, bearer)
        assert status == 404, path
        assert "x-request-id" not in headers, path


def test_the_model_front_serves_the_model_services_over_tls(clinic: Clinic) -> None:
    for port in (clinic.ports.front_speech, clinic.ports.front_llm):
        status, _, body = clinic.https(port, "GET", "/v1/models")
        assert status == 200, port
        assert json.loads(body)["headers"]["X-Forwarded-Proto"] == "https"


def test_the_gateway_reaches_the_model_front_over_verified_tls(clinic: Clinic) -> None:
    for port in (clinic.ports.gateway_speech, clinic.ports.gateway_llm):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("POST", "/v1/audio/transcriptions", body=b"a" * 1000)
            response = connection.getresponse()
            assert response.status == 200, port
            answer = json.loads(response.read())
        finally:
            connection.close()
        assert answer["received"] == 1000
        # Relayed by the front (TLS, X-Forwarded-Proto https) for the gateway on 127.0.0.1.
        assert answer["headers"]["X-Forwarded-Proto"] == "https"
        assert answer["headers"]["X-Forwarded-For"] == "127.0.0.1"


def test_the_gateway_never_sends_to_a_host_the_clinic_ca_did_not_sign(clinic: Clinic) -> None:
    # Round robin over the front and the impostor: every request must still succeed (the next
    # host is tried), and the impostor must get handshakes but never a request byte.
    for _ in range(6):
        connection = http.client.HTTPConnection(
            "127.0.0.1", clinic.ports.gateway_speech, timeout=10
        )
        try:
            connection.request("POST", "/v1/audio/transcriptions", body=b"PHI" * 100)
            assert connection.getresponse().status == 200
        finally:
            connection.close()
    assert clinic.impostor.connections >= 1
    assert clinic.impostor.request_bytes == 0
    assert "upstream SSL certificate verify error" in clinic.error_log()


def test_the_gateway_passes_a_recording_up_to_the_speech_limit_and_no_more(
    clinic: Clinic,
) -> None:
    # The speech service takes 1 MB; the gateway and the front, 2 MB.
    connection = http.client.HTTPConnection("127.0.0.1", clinic.ports.gateway_speech, timeout=10)
    try:
        connection.request("POST", "/v1/audio/transcriptions", body=b"a" * (2 * MB))
        response = connection.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["received"] == 2 * MB
        connection.putrequest("POST", "/v1/audio/transcriptions")
        connection.putheader("Content-Length", str(2 * MB + 1))
        connection.endheaders()
        assert connection.getresponse().status == 413
    finally:
        connection.close()


def test_it_keeps_the_key_root_only_and_removes_the_default_site(clinic: Clinic) -> None:
    overlay = clinic.role.overlay
    assert overlay.mode(f"{TLS_DIR}/appliance.key") == (0o600, "root", "root")
    assert overlay.mode(TLS_DIR) == (0o700, "root", "root")
    assert overlay.read(f"{TLS_DIR}/appliance.crt").strip() == (
        clinic.certificates.server.certificate.strip()
    )
    assert Path("/etc/nginx/sites-enabled/default").exists()  # this machine's, untouched
    assert not overlay.exists("/etc/nginx/sites-enabled/default")


def test_it_runs_without_ansible_warnings(clinic: Clinic) -> None:
    assert "[WARNING]" not in clinic.first_run.output
    assert clinic.certificates.server.key.splitlines()[1] not in clinic.first_run.output


def test_it_changes_nothing_on_a_second_run(second_runs: SecondRuns) -> None:
    second = second_runs.clinic
    assert second.returncode == 0, second.output
    assert second.recap()["changed"] == 0, second.output


# --- The single box: no certificate given ---------------------------------------------------


@pytest.fixture(scope="module")
def single_box(first_runs: FirstRuns) -> Role:
    return first_runs.single_box


def _certificate_of(role: Role) -> x509.Certificate:
    return x509.load_pem_x509_certificate(role.overlay.read(f"{TLS_DIR}/appliance.crt").encode())


def test_it_makes_a_self_signed_certificate_for_the_host_name_and_address(
    single_box: Role,
) -> None:
    certificate = _certificate_of(single_box)
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["notes.clinic.test"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("192.0.2.10")]
    assert certificate.issuer == certificate.subject
    assert single_box.overlay.mode(f"{TLS_DIR}/appliance.key") == (0o600, "root", "root")
    site = single_box.overlay.read(SITE)
    assert "client_max_body_size 101m;" in site  # the app's 100 MB, and room for the form
    assert "model_" not in site  # the single box has neither model front nor gateway


def test_it_keeps_the_self_signed_certificate_on_a_second_run(second_runs: SecondRuns) -> None:
    second = second_runs.single_box
    assert second.returncode == 0, second.output
    assert second.recap()["changed"] == 0, second.output
    assert second_runs.single_box_fingerprint_after == second_runs.single_box_fingerprint_before


# After the second runs, which must not run beside it in the same overlay.
@pytest.mark.usefixtures("second_runs")
def test_it_never_installs_a_site_nginx_refuses(single_box: Role) -> None:
    before = single_box.overlay.read(SITE)
    # Straight to the site (the key and certificate are there from the first run).
    run = single_box.run(
        "--start-at-task",
        "Ensure the appliance's nginx site is written and checked by nginx -t.",
        reverse_proxy_app_address="127.0.0.1:no-port",
    )
    assert run.returncode != 0
    assert "invalid port" in run.output
    assert single_box.overlay.read(SITE) == before


def test_it_refuses_an_nginx_limit_below_the_apps(second_runs: SecondRuns) -> None:
    run = second_runs.limit_below_the_apps
    assert run.returncode != 0
    messages = run.failure_messages()
    assert "nginx limit below the app's" in messages
    assert "reverse_proxy_client_max_body_size_mb is 100 MB" in messages
    assert "up to 200 MB" in messages
    assert run.recap()["changed"] == 0
