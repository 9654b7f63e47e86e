"""ansible-lint, production profile, over every role and playbook (ansible/.ansible-lint)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.ansible.playbooks import ANSIBLE_DIR, VENV_BIN, ansible_env
from tests.tools import require_tool


def test_ansible_lint_finds_nothing_at_the_production_profile(tmp_path: Path) -> None:
    lint = require_tool("ansible-lint", "it lints the roles", directory=VENV_BIN)
    done = subprocess.run(
        [lint, "--config-file", str(ANSIBLE_DIR / ".ansible-lint"), "--nocolor"],
        env={**ansible_env(tmp_path), "PATH": f"{VENV_BIN}:/usr/bin:/bin"},
        cwd=ANSIBLE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Profile 'production' was required, and it passed." in output
    assert "0 failure(s), 0 warning(s)" in output
