"""The Prometheus alert rules: valid, unit-tested with promtool, and about metrics that exist."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from appliance.runtime import Appliance
from tests.tools import require_tool
from webui.app import create_app

RULES_DIR = Path(__file__).resolve().parents[2] / "ansible/roles/monitoring/files"
RULES = RULES_DIR / "appliance-alerts.yml"
# The hosts' and model services' alerts: node_exporter (with the textfile metrics the
# monitoring and backup roles write), the model servers and the blackbox exporter.
HOST_RULES = RULES_DIR / "host-alerts.yml"
UNIT_TESTS = ("appliance-alerts.test.yml", "host-alerts.test.yml", "host-alerts.backups.test.yml")
# Written to node_exporter's textfile folder by the backup role (its nightly and weekly runs).
BACKUP_METRICS = {
    "appliance_backup_last_success_timestamp_seconds",
    "appliance_backup_check_last_success_timestamp_seconds",
}


def _alerts(*files: Path) -> dict[str, str]:
    """alert name -> expression, over the rule files."""
    return {
        rule["alert"]: rule["expr"]
        for file in files
        for group in yaml.safe_load(file.read_text())["groups"]
        for rule in group["rules"]
    }


@pytest.fixture
def promtool() -> str:
    return require_tool("promtool", "it checks and unit-tests the alert rules")


def test_the_rules_are_valid(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "check", "rules", str(RULES), str(HOST_RULES)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rule_unit_tests_pass(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "test", "rules", *UNIT_TESTS],
        capture_output=True,
        text=True,
        cwd=RULES_DIR,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(UNIT_TESTS), result.stdout


def test_every_alert_has_a_unit_test() -> None:
    tested = {
        case["alertname"]
        for name in UNIT_TESTS
        for test in yaml.safe_load((RULES_DIR / name).read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    assert set(_alerts(RULES, HOST_RULES)) - tested == set()


def test_every_alert_the_issue_asks_for_exists() -> None:
    names = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    assert {
        "ApplianceFailedLoginBurst",
        "ApplianceAccountLockout",
        "ApplianceEmergencyAccessUsed",
        "ApplianceAuditChainBroken",
        "ApplianceAuditNotVerified",
        "ApplianceAuditChainShortened",
    } <= names
    # Issue 12: model service down, job backlog and age, disk, volume unmounted, certificate
    # under 21 days, GPU memory, backup stale, clock unsynchronised.
    assert {
        "ApplianceModelServiceDown",
        "ApplianceJobBacklog",
        "ApplianceJobsWaitingTooLong",
        "ApplianceDiskFilling",
        "ApplianceDiskFull",
        "ApplianceVolumeUnmounted",
        "ApplianceCertificateExpiring",
        "ApplianceGpuMemoryFull",
        "ApplianceBackupStale",
        "ApplianceClockUnsynced",
    } <= set(_alerts(RULES, HOST_RULES))


def test_every_metric_the_rules_use_is_exported(appliance: Appliance) -> None:
    expressions = [
        r["expr"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]
    ]
    used = {m for e in expressions for m in re.findall(r"\b(appliance_[a-z_]+)", e)}
    with TestClient(
        create_app(appliance), base_url="https://testserver", client=("127.0.0.1", 1)
    ) as http:
        exported = http.get("/metrics").text
    for metric in used:
        base = metric.removesuffix("_total")
        assert re.search(rf"^# TYPE {base}(_total)? ", exported, re.M), metric


def test_every_host_metric_the_rules_use_has_a_writer(tmp_path: Path) -> None:
    """The appliance_* series of host-alerts.yml are the ones the monitoring role's scripts
    write (run here, with a stand-in nvidia-smi), or the backup role's two."""
    used = {
        m for e in _alerts(HOST_RULES).values() for m in re.findall(r"\b(appliance_[a-z_]+)", e)
    }
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text("#!/bin/sh\necho '0, 1024, 81559'\n")
    (bin_dir / "nvidia-smi").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    written = ""
    for script, args in (("appliance-volume-metrics", ["/"]), ("appliance-gpu-metrics", [])):
        out = tmp_path / f"{script}.prom"
        subprocess.run([RULES_DIR / script, out, *args], env=env, check=True, timeout=30)
        written += out.read_text()
    exported = set(re.findall(r"^# TYPE (appliance_[a-z_]+) ", written, re.M)) | BACKUP_METRICS
    assert used - exported == set()
