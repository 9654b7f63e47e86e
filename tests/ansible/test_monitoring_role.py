"""The `monitoring` role, run for real on this machine inside mount namespaces.

The role writes /etc (Prometheus, Alertmanager, the blackbox exporter, /etc/default, systemd
units), /usr/local/sbin (its textfile scripts) and /var/lib/prometheus, so each run overlays
those three with folders of the test (and mounts a fresh /run): everything lands there and the
machine itself is untouched. `monitoring_runtime: false` starts, enables and reloads nothing.
`make test` installs Debian's prometheus, prometheus-alertmanager, prometheus-blackbox-exporter
and prometheus-node-exporter, so every file is checked by the real promtool, amtool and
blackbox exporter, and the rendered Prometheus configuration is run by the real Prometheus
against stub /metrics endpoints to see the secrets it sends.

Three hosts are played: a single box (this machine in every group), a hospital's monitoring
host (this machine; the app and model hosts are inventory entries it only scrapes, never
contacted) and a plain GPU model host that another host monitors. Each is its own
ansible-playbook in a mount namespace and overlay of its own, so the three run side by side, as
do the single box's second run and the two refusals after them.
"""

from __future__ import annotations

import datetime
import grp
import json
import os
import pwd
import re
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.ansible.playbooks import (
    LOCALHOST,
    PlaybookRun,
    require_ansible_playbook,
    run_playbook,
    write_role_playbook,
)
from tests.served_app import free_port
from tests.tools import require_root, require_tool

# Each runs the role for real on this machine: `make test-roles`, never `make test`.
pytestmark = pytest.mark.roles

OVERLAID = ("/etc", "/usr/local", "/var/lib/prometheus")
TOKEN = "metrics-token-3f9c1a"
MODEL_KEY = "model-key-8e27d4"
SMTP = {
    "monitoring_smtp_relay": "10.20.0.25:587",
    "monitoring_smtp_from": "notes-alerts@clinic.lan",
    "monitoring_alert_email": "it-oncall@clinic.lan",
}
COMMON = {
    "monitoring_runtime": False,
    "monitoring_node_packages": [],
    "monitoring_server_packages": [],
    "monitoring_appliance_metrics_token": TOKEN,
    "monitoring_model_api_key": MODEL_KEY,
    **SMTP,
}
TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"
SCRIPTS = "/usr/local/sbin"
UNITS = "/etc/systemd/system"
# The most exposure `systemd-analyze security` may give a textfile service (tenths), as for the
# appliance's own unit.
EXPOSURE_THRESHOLD = 25


def _clinic_ca() -> str:
    """A CA certificate in PEM, as the clinic's would be (no host ever presents one it signed
    here: the configuration only has to point at it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Clinic test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass(frozen=True)
class Host:
    """One play of the role against this machine, with its own overlay folders."""

    workdir: Path
    unshare: str

    @property
    def upper(self) -> Path:
        return self.workdir / "overlay" / "upper"

    def wrapper(self, *extra: str) -> list[str]:
        mounts = []
        for lower in OVERLAID:
            name = lower.strip("/").replace("/", "-")
            upper, work = self.upper / name, self.workdir / "overlay" / "work" / name
            upper.mkdir(parents=True, exist_ok=True)
            work.mkdir(parents=True, exist_ok=True)
            mounts.append(
                f"mount -t overlay overlay -o lowerdir={lower},upperdir={upper},workdir={work} "
                f"{lower}"
            )
        mounts += ["mount -t tmpfs tmpfs /run", *extra]
        script = " && ".join(mounts) + ' && exec "$@"'
        return [self.unshare, "--mount", "--propagation", "private", "sh", "-c", script, "sh"]

    def run_role(self, **overrides: object) -> PlaybookRun:
        return run_playbook(
            self.workdir / "monitoring-playbook.yml",
            inventory=self.workdir / "inventory.yml",
            workdir=self.workdir,
            extra_vars=[self.workdir / "vars.json", overrides],
            # The other hosts of the inventory are only scraped, never contacted.
            args=["--limit", "localhost"],
            wrapper=self.wrapper(),
        )

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.wrapper(), *command], capture_output=True, text=True, timeout=60, check=check
        )

    def file(self, path: str) -> Path:
        """Where the role's file at `path` landed in the overlay."""
        for lower in OVERLAID:
            if path.startswith(lower + "/"):
                name = lower.strip("/").replace("/", "-")
                return self.upper / name / path.removeprefix(lower + "/")
        raise AssertionError(f"{path} is outside the overlaid folders")

    def yaml(self, path: str) -> Any:
        return yaml.safe_load(self.file(path).read_text())


def _make_host(
    factory: pytest.TempPathFactory, name: str, inventory: Mapping[str, Any], variables: Mapping
) -> Host:
    require_ansible_playbook()
    require_root("the role runs in a mount namespace over /etc")
    for program, why in (
        ("promtool", "the role checks its rules and prometheus.yml with promtool"),
        ("amtool", "the role checks alertmanager.yml with amtool"),
        ("prometheus-blackbox-exporter", "the role checks its probes with --config.check"),
    ):
        require_tool(program, why)
    workdir = factory.mktemp(name)
    write_role_playbook(workdir, "monitoring")
    (workdir / "inventory.yml").write_text(json.dumps(inventory))
    (workdir / "vars.json").write_text(json.dumps({**COMMON, **variables}))
    return Host(workdir, require_tool("unshare", "the test overlays /etc"))


def _inventory(groups: Mapping[str, list[str]], hosts: Mapping[str, Mapping]) -> dict:
    children = {g: {"hosts": {h: None for h in members}} for g, members in groups.items()}
    return {"all": {"hosts": dict(hosts), "children": children}}


def _single_box(factory: pytest.TempPathFactory) -> Host:
    """This machine as the single box: web app, database, GPU model server and monitoring."""
    groups = {g: ["localhost"] for g in ("appliance", "postgresql", "model_server", "monitoring")}
    return _make_host(
        factory,
        "single-box",
        _inventory(groups, {"localhost": LOCALHOST}),
        {
            "appliance_profile": "gpu",
            "encrypted_storage_volumes": [
                {"name": "appliance-data", "mount_point": "/var/lib/appliance"},
                {"name": "postgresql-data", "mount_point": "/var/lib/postgresql"},
            ],
        },
    )


def _hospital(factory: pytest.TempPathFactory, name: str, clinic_ca: str) -> Host:
    """This machine as a hospital's monitoring host: two app hosts, a GPU and a CPU model host,
    a database host, all reached at their addresses."""
    others = {
        "app1": "10.20.0.11",
        "app2": "10.20.0.12",
        "db1": "10.20.0.21",
        "gpu1": "10.20.0.31",
        "cpu1": "10.20.0.33",
    }
    hosts: dict[str, Mapping] = {"localhost": {**LOCALHOST, "ansible_host": "10.20.0.41"}}
    hosts |= {name: {"ansible_host": address} for name, address in others.items()}
    hosts["gpu1"] = {**hosts["gpu1"], "appliance_profile": "gpu"}
    hosts["cpu1"] = {**hosts["cpu1"], "appliance_profile": "cpu"}
    groups = {
        "appliance": ["app1", "app2"],
        "postgresql": ["db1"],
        "model_server": ["gpu1", "cpu1"],
        "monitoring": ["localhost"],
    }
    return _make_host(
        factory, name, _inventory(groups, hosts), {"monitoring_tls_ca_certificate": clinic_ca}
    )


def _gpu_host(factory: pytest.TempPathFactory) -> Host:
    """This machine as a GPU model host that the monitoring host mon1 scrapes."""
    hosts = {
        "localhost": {**LOCALHOST, "ansible_host": "10.20.0.31", "appliance_profile": "gpu"},
        "mon1": {"ansible_host": "10.20.0.41"},
    }
    groups = {"model_server": ["localhost"], "monitoring": ["mon1"]}
    return _make_host(factory, "gpu-host", _inventory(groups, hosts), {})


def _side_by_side(*runs: Callable[[], PlaybookRun]) -> list[PlaybookRun]:
    """Independent runs (each in a mount namespace and overlay of its own) at the same time:
    one ansible-playbook keeps about one core busy, and the build machines have two."""
    with ThreadPoolExecutor(len(runs)) as pool:
        return [future.result() for future in [pool.submit(run) for run in runs]]


@dataclass(frozen=True)
class Deployed:
    single_box: Host
    hospital: Host
    gpu_host: Host


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    """The three hosts, each played once, side by side."""
    hosts = Deployed(
        _single_box(tmp_path_factory),
        _hospital(tmp_path_factory, "hospital", _clinic_ca()),
        _gpu_host(tmp_path_factory),
    )
    runs = _side_by_side(
        hosts.single_box.run_role, hosts.hospital.run_role, hosts.gpu_host.run_role
    )
    for run in runs:
        assert run.returncode == 0, run.output
    return hosts


@pytest.fixture(scope="module")
def single_box(deployed: Deployed) -> Host:
    return deployed.single_box


@pytest.fixture(scope="module")
def hospital(deployed: Deployed) -> Host:
    return deployed.hospital


@pytest.fixture(scope="module")
def gpu_host(deployed: Deployed) -> Host:
    return deployed.gpu_host


@dataclass(frozen=True)
class Reruns:
    single_box_again: PlaybookRun
    without_clinic_ca: PlaybookRun
    without_relay: PlaybookRun


@pytest.fixture(scope="module")
def reruns(tmp_path_factory: pytest.TempPathFactory, deployed: Deployed) -> Reruns:
    """The single box a second time, beside the hospital's monitoring host refused twice (each
    refusal in a fresh overlay of its own: preflight stops them before any change)."""
    no_ca = _hospital(tmp_path_factory, "hospital-without-ca", "")
    no_relay = _hospital(tmp_path_factory, "hospital-without-relay", _clinic_ca())
    again, without_ca, without_relay = _side_by_side(
        deployed.single_box.run_role,
        no_ca.run_role,
        lambda: no_relay.run_role(monitoring_smtp_relay=""),
    )
    return Reruns(again, without_ca, without_relay)


def _jobs(host: Host) -> dict[str, dict[str, Any]]:
    config = host.yaml("/etc/prometheus/prometheus.yml")
    return {job["job_name"]: job for job in config["scrape_configs"]}


def _targets(job: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """instance -> {target, scheme} of a scrape job."""
    found = {}
    for group in job["static_configs"]:
        (target,) = group["targets"]
        labels = group["labels"]
        found[labels["instance"]] = {"target": target, **labels}
    return found


def _args(host: Host, name: str) -> str:
    text = host.file(f"/etc/default/{name}").read_text()
    found = re.search(r'^ARGS="(.*)"$', text, re.M)
    assert found, text
    return found[1]


# The single box ------------------------------------------------------------------------------


def test_it_leaves_this_machine_untouched(single_box: Host) -> None:
    assert not Path("/etc/prometheus/appliance-metrics-token").exists()
    assert single_box.file("/etc/prometheus/appliance-metrics-token").exists()


def test_the_single_box_config_passes_promtool_and_scrapes_everything_on_loopback(
    single_box: Host,
) -> None:
    checked = single_box.run("promtool", "check", "config", "/etc/prometheus/prometheus.yml")
    assert "SUCCESS: 2 rule files found" in checked.stdout, checked.stdout + checked.stderr
    jobs = _jobs(single_box)
    assert set(jobs) == {
        "prometheus",
        "node",
        "appliance",
        "model_speech",
        "model_llm",
        "tls_expiry",
    }
    for name, port in (("appliance", 8000), ("model_speech", 8101), ("model_llm", 8102)):
        targets = _targets(jobs[name])
        # Plain HTTP on loopback: no __scheme__ label, so the job's default (http).
        assert targets == {"localhost": {"target": f"127.0.0.1:{port}", "instance": "localhost"}}
    assert jobs["appliance"]["authorization"] == {
        "credentials_file": "/etc/prometheus/appliance-metrics-token"
    }
    assert jobs["model_speech"]["authorization"] == {
        "credentials_file": "/etc/prometheus/model-api-key"
    }
    assert _targets(jobs["node"]) == {
        "localhost": {"target": "127.0.0.1:9100", "instance": "localhost", "backup": "expected"}
    }
    # The cert probe goes through the blackbox exporter on loopback.
    assert _targets(jobs["tls_expiry"])["localhost"]["target"] == "https://localhost:443/healthz"
    assert {"target_label": "__address__", "replacement": "127.0.0.1:9115"} in jobs["tls_expiry"][
        "relabel_configs"
    ]


def test_the_secret_files_are_readable_by_prometheus_only(single_box: Host) -> None:
    prometheus_gid = grp.getgrnam("prometheus").gr_gid
    for path, secret in (
        ("/etc/prometheus/appliance-metrics-token", TOKEN),
        ("/etc/prometheus/model-api-key", MODEL_KEY),
    ):
        file = single_box.file(path)
        info = file.stat()
        assert stat.S_IMODE(info.st_mode) == 0o640, path
        assert (info.st_uid, info.st_gid) == (0, prometheus_gid), path
        assert file.read_text() == secret
    assert TOKEN not in single_box.file("/etc/prometheus/prometheus.yml").read_text()
    # No login to the relay: no password file.
    assert not single_box.file("/etc/prometheus/alertmanager-smtp-password").exists()


def test_alertmanager_config_passes_amtool_and_mails_through_the_relay(single_box: Host) -> None:
    checked = single_box.run("amtool", "check-config", "/etc/prometheus/alertmanager.yml")
    assert "SUCCESS" in checked.stdout, checked.stdout + checked.stderr
    config = single_box.yaml("/etc/prometheus/alertmanager.yml")
    assert config["global"]["smtp_smarthost"] == "10.20.0.25:587"
    assert config["global"]["smtp_require_tls"] is True
    (receiver,) = config["receivers"]
    assert receiver["email_configs"][0]["to"] == "it-oncall@clinic.lan"
    assert config["route"]["receiver"] == receiver["name"]
    assert stat.S_IMODE(single_box.file("/etc/prometheus/alertmanager.yml").stat().st_mode) == 0o640


def test_blackbox_config_passes_its_check(single_box: Host) -> None:
    checked = single_box.run(
        "prometheus-blackbox-exporter",
        "--config.check",
        "--config.file=/etc/prometheus/blackbox.yml",
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    modules = single_box.yaml("/etc/prometheus/blackbox.yml")["modules"]
    # No clinic CA on the single box (nginx's certificate is self-signed): the expiry is read
    # without verifying it.
    assert modules["https_certificate"]["http"]["tls_config"]["insecure_skip_verify"] is True
    assert modules["https_certificate"]["http"]["fail_if_not_ssl"] is True


def test_the_servers_listen_on_loopback_only(single_box: Host) -> None:
    assert "--web.listen-address=127.0.0.1:9090" in _args(single_box, "prometheus")
    assert "--storage.tsdb.retention.time=90d" in _args(single_box, "prometheus")
    alertmanager = _args(single_box, "prometheus-alertmanager")
    assert "--web.listen-address=127.0.0.1:9093" in alertmanager
    # Its gossip port would otherwise listen on every address.
    assert alertmanager.endswith("--cluster.listen-address=")
    assert "--web.listen-address=127.0.0.1:9115" in _args(
        single_box, "prometheus-blackbox-exporter"
    )
    # Nobody else scrapes the single box.
    assert "--web.listen-address=127.0.0.1:9100" in _args(single_box, "prometheus-node-exporter")


def test_the_rules_are_installed_and_pass_promtool(single_box: Host) -> None:
    for name in ("appliance-alerts.yml", "host-alerts.yml"):
        checked = single_box.run("promtool", "check", "rules", f"/etc/prometheus/rules/{name}")
        assert "SUCCESS" in checked.stdout, checked.stdout + checked.stderr


def test_the_textfile_units_are_hardened_and_valid(single_box: Host) -> None:
    analyze = require_tool("systemd-analyze", "the test scores the textfile units")
    for name in ("appliance-volume-metrics", "appliance-gpu-metrics"):
        unit = f"{UNITS}/{name}.service"
        scored = single_box.run(
            analyze, "security", "--offline=yes", f"--threshold={EXPOSURE_THRESHOLD}",
            "--no-pager", unit, check=False,
        )  # fmt: skip
        assert scored.returncode == 0, scored.stdout + scored.stderr
        verified = single_box.run(analyze, "verify", unit, f"{UNITS}/{name}.timer", check=False)
        assert verified.returncode == 0, verified.stdout + verified.stderr
    service = single_box.file(f"{UNITS}/appliance-volume-metrics.service").read_text()
    assert (
        f'ExecStart={SCRIPTS}/appliance-volume-metrics "{TEXTFILE_DIR}/appliance_volumes.prom" '
        '"/var/lib/appliance" "/var/lib/postgresql"'
    ) in service


def _promtool_check_metrics(text: str) -> None:
    promtool = require_tool("promtool", "promtool checks the metric files")
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_volume_script_reports_a_locked_volume_as_0(single_box: Host, tmp_path: Path) -> None:
    script = single_box.file(f"{SCRIPTS}/appliance-volume-metrics")
    mounted, locked = tmp_path / "data", tmp_path / "postgresql"
    mounted.mkdir()
    locked.mkdir()
    out = tmp_path / "appliance_volumes.prom"
    # A mount table of its own: one folder is a mount point there, the other a bare folder.
    unshare = require_tool("unshare", "the script runs in its own mount namespace")
    subprocess.run(
        [unshare, "--mount", "--propagation", "private", "sh", "-c",
         f'mount -t tmpfs tmpfs "{mounted}" && exec "$@"', "sh",
         str(script), str(out), str(mounted), str(locked)],
        check=True, timeout=30,
    )  # fmt: skip
    text = out.read_text()
    _promtool_check_metrics(text)
    assert f'appliance_volume_mounted{{mount_point="{mounted}"}} 1\n' in text
    assert f'appliance_volume_mounted{{mount_point="{locked}"}} 0\n' in text
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    # Nothing left beside it: the temporary file was renamed.
    assert [p.name for p in tmp_path.glob("appliance_volumes.prom*")] == [out.name]


def _fake_nvidia_smi(folder: Path, body: str) -> dict[str, str]:
    folder.mkdir(exist_ok=True)
    program = folder / "nvidia-smi"
    program.write_text(f"#!/bin/sh\n{body}\n")
    program.chmod(0o755)
    return {**os.environ, "PATH": f"{folder}:{os.environ['PATH']}"}


def test_the_gpu_script_reports_each_gpus_memory_in_bytes(single_box: Host, tmp_path: Path) -> None:
    script = single_box.file(f"{SCRIPTS}/appliance-gpu-metrics")
    # What `nvidia-smi --query-gpu=index,memory.used,memory.total --format=csv,noheader,nounits`
    # prints on a host with two H100s, one of them in MIG mode (no plain numbers).
    env = _fake_nvidia_smi(
        tmp_path / "bin",
        'test "$*" = "--query-gpu=index,memory.used,memory.total --format=csv,noheader,nounits"'
        ' || exit 9\nprintf "0, 65432, 81559\\n1, [N/A], [N/A]\\n"',
    )
    out = tmp_path / "appliance_gpu.prom"
    subprocess.run([str(script), str(out)], env=env, check=True, timeout=30)
    text = out.read_text()
    _promtool_check_metrics(text)
    assert f'appliance_gpu_memory_used_bytes{{gpu="0"}} {65432 * 2**20}\n' in text
    assert f'appliance_gpu_memory_total_bytes{{gpu="0"}} {81559 * 2**20}\n' in text
    assert 'gpu="1"' not in text


def test_the_gpu_script_keeps_the_old_file_when_nvidia_smi_fails(
    single_box: Host, tmp_path: Path
) -> None:
    script = single_box.file(f"{SCRIPTS}/appliance-gpu-metrics")
    out = tmp_path / "appliance_gpu.prom"
    out.write_text("old\n")
    env = _fake_nvidia_smi(tmp_path / "bin", "echo 'NVIDIA-SMI has failed' >&2; exit 9")
    done = subprocess.run([str(script), str(out)], env=env, capture_output=True, timeout=30)
    # The unit fails (and the file grows stale, which ApplianceHostCheckStale reports) rather
    # than writing a file that says the host has no GPU.
    assert done.returncode != 0
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.glob("appliance_gpu.prom*")] == [out.name]


class _Recorder(BaseHTTPRequestHandler):
    """A /metrics endpoint that notes the Authorization header of every request."""

    seen: list[tuple[int, str]]

    def do_GET(self) -> None:
        self.seen.append((self.server.server_address[1], self.headers.get("Authorization", "")))
        body = b"# TYPE stub_up gauge\nstub_up 1\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def stub_endpoints() -> Iterator[tuple[dict[int, int], list[tuple[int, str]]]]:
    """Two stub /metrics servers standing in for the web app and the speech service."""
    seen: list[tuple[int, str]] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), handler) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ports = {8000: servers[0].server_address[1], 8101: servers[1].server_address[1]}
    try:
        yield ports, seen
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_prometheus_sends_the_token_and_the_model_key_from_their_files(
    single_box: Host,
    tmp_path: Path,
    stub_endpoints: tuple[dict[int, int], list[tuple[int, str]]],
) -> None:
    prometheus = require_tool("prometheus", "Prometheus itself runs the rendered configuration")
    ports, seen = stub_endpoints
    config = single_box.yaml("/etc/prometheus/prometheus.yml")
    # The rendered scrapes of the app and speech, pointed at the stubs, scraped every second;
    # the rest (rules, alerting, other jobs) is not what this test is about.
    kept = []
    for job in config["scrape_configs"]:
        if job["job_name"] not in ("appliance", "model_speech"):
            continue
        for group in job["static_configs"]:
            host, port = group["targets"][0].rsplit(":", 1)
            group["targets"] = [f"{host}:{ports[int(port)]}"]
        job["authorization"]["credentials_file"] = str(
            single_box.file(job["authorization"]["credentials_file"])
        )
        kept.append(job)
    trimmed = tmp_path / "prometheus.yml"
    trimmed.write_text(
        yaml.safe_dump({"global": {"scrape_interval": "1s"}, "scrape_configs": kept})
    )
    log = tmp_path / "prometheus.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [prometheus, f"--config.file={trimmed}", f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{free_port()}"],
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while {port for port, _ in seen} != set(ports.values()) and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    headers = dict(seen)
    assert headers.get(ports[8000]) == f"Bearer {TOKEN}", seen
    assert headers.get(ports[8101]) == f"Bearer {MODEL_KEY}", seen


def test_it_changes_nothing_on_a_second_run(reruns: Reruns) -> None:
    second = reruns.single_box_again
    assert second.returncode == 0, second.output
    assert second.recap()["changed"] == 0, second.output


# A hospital's monitoring host ------------------------------------------------------------------


def test_a_hospital_monitoring_host_scrapes_the_others_over_tls_with_the_clinic_ca(
    hospital: Host,
) -> None:
    checked = hospital.run("promtool", "check", "config", "/etc/prometheus/prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    jobs = _jobs(hospital)
    assert set(jobs) == {
        "prometheus", "node", "appliance", "model_speech", "model_llm", "model_llm_health",
        "tls_expiry",
    }  # fmt: skip
    expected = {
        "appliance": {"app1": "10.20.0.11:9443", "app2": "10.20.0.12:9443"},
        "model_speech": {"gpu1": "10.20.0.31:8443", "cpu1": "10.20.0.33:8443"},
        # vLLM's /metrics on the GPU host only: the CPU LLM has none.
        "model_llm": {"gpu1": "10.20.0.31:8444"},
    }
    for name, targets in expected.items():
        found = _targets(jobs[name])
        assert {host: t["target"] for host, t in found.items()} == targets, name
        assert {t["__scheme__"] for t in found.values()} == {"https"}, name
        assert jobs[name]["tls_config"]["ca_file"] == "/etc/prometheus/clinic-ca.pem"
    health = _targets(jobs["model_llm_health"])
    assert {h: t["target"] for h, t in health.items()} == {"cpu1": "https://10.20.0.33:8444/health"}
    expiry = _targets(jobs["tls_expiry"])
    assert {h: t["target"] for h, t in expiry.items()} == {
        "app1": "https://10.20.0.11:443/healthz",
        "app2": "https://10.20.0.12:443/healthz",
    }
    nodes = _targets(jobs["node"])
    assert {h: t["target"] for h, t in nodes.items()} == {
        "localhost": "127.0.0.1:9100",
        "app1": "10.20.0.11:9100",
        "app2": "10.20.0.12:9100",
        "db1": "10.20.0.21:9100",
        "gpu1": "10.20.0.31:9100",
        "cpu1": "10.20.0.33:9100",
    }
    assert {h for h, t in nodes.items() if t.get("backup") == "expected"} == {"app1", "app2"}


def test_a_hospital_monitoring_host_checks_tls_against_the_clinic_ca(hospital: Host) -> None:
    ca = hospital.file("/etc/prometheus/clinic-ca.pem")
    assert ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert stat.S_IMODE(ca.stat().st_mode) == 0o644
    checked = hospital.run(
        "prometheus-blackbox-exporter",
        "--config.check",
        "--config.file=/etc/prometheus/blackbox.yml",
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    modules = hospital.yaml("/etc/prometheus/blackbox.yml")["modules"]
    for name in ("https_certificate", "http_health"):
        assert modules[name]["http"]["tls_config"] == {
            "ca_file": "/etc/prometheus/clinic-ca.pem",
            "min_version": "TLS12",
        }, name


def test_a_monitoring_host_without_the_clinic_ca_is_refused(reruns: Reruns) -> None:
    run = reruns.without_clinic_ca
    assert run.returncode != 0
    assert "set monitoring_tls_ca_certificate to the clinic CA" in run.failure_messages()
    assert run.recap()["changed"] == 0


def test_a_monitoring_host_without_a_relay_is_refused(reruns: Reruns) -> None:
    run = reruns.without_relay
    assert run.returncode != 0
    assert "an alert no one receives protects nothing" in run.failure_messages()
    assert run.recap()["changed"] == 0


# A plain GPU model host ------------------------------------------------------------------------


def test_a_plain_host_gets_node_exporter_on_its_own_address_and_no_server(gpu_host: Host) -> None:
    assert "--web.listen-address=10.20.0.31:9100" in _args(gpu_host, "prometheus-node-exporter")
    assert not gpu_host.file("/etc/prometheus/prometheus.yml").exists()
    assert not gpu_host.file("/etc/default/prometheus").exists()
    dropin = gpu_host.file(f"{UNITS}/prometheus-node-exporter.service.d/appliance.conf")
    assert "After=network-online.target" in dropin.read_text()


def test_a_gpu_model_host_gets_the_gpu_timer_and_no_volume_timer(gpu_host: Host) -> None:
    assert gpu_host.file(f"{UNITS}/appliance-gpu-metrics.timer").exists()
    assert gpu_host.file(f"{UNITS}/appliance-gpu-metrics.service").exists()
    # A model host keeps no PHI: no encrypted volume to report.
    assert not gpu_host.file(f"{UNITS}/appliance-volume-metrics.timer").exists()
    timer = gpu_host.file(f"{UNITS}/appliance-gpu-metrics.timer").read_text()
    assert "OnUnitActiveSec=60s" in timer
    owner = pwd.getpwuid(gpu_host.file(f"{SCRIPTS}/appliance-gpu-metrics").stat().st_uid)
    assert owner.pw_name == "root"
