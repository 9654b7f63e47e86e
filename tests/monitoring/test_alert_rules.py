"""The Prometheus alert rules: valid, unit-tested with promtool, and about metrics that exist."""

from __future__ import annotations

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


@pytest.fixture
def promtool() -> str:
    return require_tool("promtool", "it checks and unit-tests the alert rules")


def test_the_rules_are_valid(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rule_unit_tests_pass(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "test", "rules", "appliance-alerts.test.yml"],
        capture_output=True,
        text=True,
        cwd=RULES_DIR,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


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
