"""The `model_server` Ansible role, run for real against this machine.

The role runs from a one-role playbook as root (the build machines' user), installs nothing (the
test's own virtualenv is `model_server_venv`) and starts no unit (`model_server_runtime: false`:
there is no systemd here), but writes and checks everything else where it would on a host: the
model folder copied and checked with `sha256sum -c`, the EnvironmentFile, the unit, checked by
`systemd-analyze verify` and `security`. The services are then started by hand from the role's
EnvironmentFile (`model-server run --profile cpu`, Whisper tiny.en from the role's model folder
and SmolLM2), and the role's verify tasks run against them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ansible.playbooks import (
    LOCALHOST,
    VENV_BIN,
    PlaybookRun,
    require_ansible_playbook,
    run_playbook,
    write_role_playbook,
)
from tests.served_app import free_port
from tests.tools import require_root, require_tool

# Each runs the role for real on this machine: `make test-roles`, never `make test`.
pytestmark = pytest.mark.roles

VENV = VENV_BIN.parent
API_KEY = "model-key-4f9c2a7e-harbour"
MODEL_NAME = "tiny-en"
_ENV_LINE = re.compile(r'^(?P<name>[A-Z0-9_]+)="(?P<value>(?:[^"\\]|\\.)*)"$')


def _whisper_tiny_en() -> Path:
    """The bundled Whisper tiny.en folder (CTranslate2): a real model folder for the role."""
    from model_server.bundled import whisper_tiny_en_dir

    try:
        return whisper_tiny_en_dir()
    except FileNotFoundError as missing:
        pytest.skip(f"the bundled Whisper tiny.en is not installed: {missing}")


def _write_sha256sums(folder: Path) -> None:
    """SHA256SUMS as the role's README tells an admin to make it (`sha256sum` output format)."""
    lines = [
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  ./{path.relative_to(folder)}\n"
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != "SHA256SUMS"
    ]
    (folder / "SHA256SUMS").write_text("".join(lines))


def _tiny_model(folder: Path) -> Path:
    """A stand-in model folder, for the cases that stop at the checksum (nothing loads it)."""
    (folder / "tokenizer").mkdir(parents=True)
    (folder / "model.bin").write_bytes(bytes(range(256)) * 16)
    (folder / "config.json").write_text("{}")
    (folder / "tokenizer" / "vocabulary.txt").write_text("hello\nworld\n")
    _write_sha256sums(folder)
    return folder


def _model_source(folder: Path) -> Path:
    """A model folder as an admin prepares it on the controller: the files and a SHA256SUMS."""
    shutil.copytree(_whisper_tiny_en(), folder)
    _write_sha256sums(folder)
    return folder


def _read_environment_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        found = _ENV_LINE.match(line)
        assert found, f'not a NAME="value" line: {line!r}'
        values[found["name"]] = re.sub(r"\\(.)", r"\1", found["value"])
    return values


@dataclass(frozen=True)
class Target:
    """This machine as a model host: its folders under the test's workdir, its free ports.

    Every case is a host of one inventory (each this machine, with folders of its own), so one
    run plays several cases side by side: `localhost` is the deployment the services start from,
    the other hosts are the cases that must fail or write elsewhere."""

    workdir: Path
    speech_port: int
    llm_port: int
    backend_port: int

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def environment_file(self) -> Path:
        return self.workdir / "etc" / "model-server.env"

    @property
    def unit(self) -> Path:
        return self.workdir / "systemd" / "model-server.service"

    def role_vars(self) -> dict[str, Any]:
        return {
            "model_server_profile": "cpu",
            "model_server_create_user": False,
            "model_server_user": "root",
            "model_server_group": "root",
            "model_server_install": False,
            "model_server_venv": str(VENV),
            "model_server_data_dir": str(self.data_dir),
            "model_server_config_dir": str(self.workdir / "etc"),
            "model_server_systemd_dir": str(self.workdir / "systemd"),
            "model_server_unit_check_dir": str(self.workdir / "unit-check"),
            "model_server_runtime": False,
            "model_server_api_key": API_KEY,
            "model_server_settings": {
                "MODEL_SERVER_HOST": "127.0.0.1",
                "MODEL_SERVER_SPEECH_PORT": self.speech_port,
                "MODEL_SERVER_LLM_PORT": self.llm_port,
                "MODEL_SERVER_LLM_BACKEND_PORT": self.backend_port,
                # Two threads at most: the build machines have two cores.
                "MODEL_SERVER_CPU_THREADS": 1,
                "MODEL_SERVER_VAD": False,
            },
            "model_server_models": [
                {
                    "name": MODEL_NAME,
                    # An artifact path on the host, copied there (the tampered-weights case
                    # takes its model from the controller instead).
                    "path": str(self.workdir / "artifacts" / MODEL_NAME),
                    "setting": "MODEL_SERVER_WHISPER_MODEL_DIR",
                }
            ],
            "model_server_verify_retries": 60,
            "model_server_verify_delay": 0.5,
        }

    def elsewhere(self, name: str, models: list[Mapping[str, str]]) -> dict[str, Any]:
        """Overrides that send a case's files to a folder of its own, away from the deployment."""
        (self.workdir / name / "systemd").mkdir(parents=True)
        return {
            "model_server_data_dir": str(self.workdir / name / "data"),
            "model_server_config_dir": str(self.workdir / name / "etc"),
            "model_server_systemd_dir": str(self.workdir / name / "systemd"),
            "model_server_unit_check_dir": str(self.workdir / name / "unit-check"),
            "model_server_models": models,
        }

    def playbook(self, name: str, hosts: list[str], *args: str) -> PlaybookRun:
        return run_playbook(
            self.workdir / name,
            inventory=self.workdir / "inventory.yml",
            workdir=self.workdir,
            args=["--limit", ",".join(hosts), "--forks", str(len(hosts)), *args],
            timeout=180,
        )


def _cases(target: Target) -> dict[str, dict[str, Any]]:
    """Each case's variables over the deployment's: host name -> overrides."""
    workdir = target.workdir
    setting = "MODEL_SERVER_WHISPER_MODEL_DIR"
    tampered = _tiny_model(workdir / "tampered-source")
    with (tampered / "tokenizer" / "vocabulary.txt").open("a") as vocabulary:
        vocabulary.write("swapped\n")
    extra = _tiny_model(workdir / "artifact")
    (extra / "extra.bin").write_bytes(b"not in the list")
    bare = workdir / "bare-model"
    bare.mkdir()
    (bare / "model.bin").write_bytes(b"weights")
    llm = _tiny_model(workdir / "llm-source")
    return {
        "localhost": {},
        "tampered": target.elsewhere(
            "tampered", [{"name": "tampered", "source": str(tampered), "setting": setting}]
        ),
        # `path`: a folder already on the host (the artifact path), copied on the host.
        "extra": target.elsewhere(
            "extra", [{"name": "extra", "path": str(extra), "setting": setting}]
        ),
        "bare": target.elsewhere(
            "bare", [{"name": "bare", "source": str(bare), "setting": setting}]
        ),
        # The gpu profile's unit, written and checked without a GPU (no service starts).
        "gpu": {
            **target.elsewhere(
                "gpu",
                [{"name": "llm", "source": str(llm), "setting": "MODEL_SERVER_VLLM_MODEL_DIR"}],
            ),
            "model_server_profile": "gpu",
        },
        # The deployed EnvironmentFile, but without copying and checking its model again.
        "refused": {
            **target.elsewhere("refused", []),
            "model_server_config_dir": str(workdir / "etc"),
            "model_server_settings": {
                **target.role_vars()["model_server_settings"],
                "MODEL_SERVER_BEAM_SIZE": 99,
            },
        },
        "wrong_key": {"model_server_api_key": "not-the-key-the-services-run-with"},
        "nowhere": {
            "model_server_verify_speech_url": f"http://127.0.0.1:{free_port()}",
            "model_server_verify_retries": 1,
            "model_server_verify_delay": 0,
        },
    }


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Target:
    require_ansible_playbook()
    # The role gives root the EnvironmentFile and the models; as anyone else chown would fail.
    require_root("the role makes files root's, as on a host")
    workdir = tmp_path_factory.mktemp("model-server")
    _model_source(workdir / "artifacts" / MODEL_NAME)
    # /etc/systemd/system exists on every host; the role does not make it.
    (workdir / "systemd").mkdir()
    target = Target(workdir, free_port(), free_port(), free_port())
    cases = _cases(target)
    hosts = {name: {**LOCALHOST, **target.role_vars(), **found} for name, found in cases.items()}
    inventory = {
        "all": {"hosts": hosts, "children": {"model_server": {"hosts": dict.fromkeys(hosts)}}}
    }
    (workdir / "inventory.yml").write_text(json.dumps(inventory))
    write_role_playbook(workdir, "model_server")
    verify = {
        "name": "Verify the model services.",
        "hosts": "all",
        "gather_facts": False,
        "tasks": [
            {
                "name": "Run the model_server role's verify tasks.",
                "ansible.builtin.include_role": {"name": "model_server", "tasks_from": "verify"},
            }
        ],
    }
    (workdir / "verify.yml").write_text(json.dumps([verify]))
    return target


@pytest.fixture(scope="module")
def first_run(target: Target) -> PlaybookRun:
    """The deployment, side by side with the cases that fail or write elsewhere."""
    require_tool("systemd-analyze", "the role checks its unit with systemd-analyze")
    # -vvv prints every task's arguments and results: a key that slipped past no_log would show.
    run = target.playbook(
        "model_server-playbook.yml", ["localhost", "tampered", "extra", "bare", "gpu"], "-vvv"
    )
    assert run.recap()["failed"] == 0, run.output
    return run


@dataclass(frozen=True)
class Verified:
    run: PlaybookRun
    services_log: str
    services_running: bool
    speech_models: list[str]


@pytest.fixture(scope="module")
def verified(target: Target, first_run: PlaybookRun) -> Iterator[Verified]:
    """The role's verify tasks against `model-server run --profile cpu` started with nothing but
    the role's EnvironmentFile, as the unit would start it: with the deployment's variables, with
    a wrong key, and against a port where nothing answers. The services stop once this is done,
    and leave the two cores to the playbook runs after them."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **_read_environment_file(target.environment_file),
    }
    log_path = target.workdir / "services.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(VENV / "bin" / "model-server"), "run", "--profile", "cpu"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: the supervisor's children go down with it in teardown.
            start_new_session=True,
        )
    try:
        run = target.playbook("verify.yml", ["localhost", "wrong_key", "nowhere"])
        running = process.poll() is None
        # Which model the speech service loaded: the role's copy, named after its folder.
        listed = httpx.get(
            f"http://127.0.0.1:{target.speech_port}/v1/models",
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=5,
        )
        models = [m["id"] for m in listed.json()["data"]] if listed.status_code == 200 else []
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass
    yield Verified(run, log_path.read_text(errors="replace"), running, models)


@dataclass(frozen=True)
class SecondRun:
    run: PlaybookRun
    environment_before: bytes


@pytest.fixture(scope="module")
def second_run(target: Target, first_run: PlaybookRun) -> SecondRun:
    """The deployment again, beside a case that brings a setting model-server refuses to the
    deployment's EnvironmentFile."""
    before = target.environment_file.read_bytes()
    run = target.playbook("model_server-playbook.yml", ["localhost", "refused"])
    return SecondRun(run, before)


def test_it_deploys_with_changes_and_no_failures(first_run: PlaybookRun) -> None:
    recap = first_run.recap()
    assert recap["failed"] == 0
    assert recap["changed"] >= 5  # folders, model copy, EnvironmentFile, unit check, unit


def test_it_runs_without_ansible_warnings(first_run: PlaybookRun) -> None:
    assert "[WARNING]" not in first_run.output
    assert "[DEPRECATION WARNING]" not in first_run.output


def test_it_keeps_the_api_key_out_of_the_output(first_run: PlaybookRun) -> None:
    assert "Ensure the EnvironmentFile holds the settings and the API key." in first_run.output
    assert API_KEY not in first_run.output


@pytest.mark.usefixtures("first_run")
def test_the_environment_file_is_roots_alone_and_holds_the_settings_and_key(
    target: Target,
) -> None:
    path = target.environment_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (path.stat().st_uid, path.stat().st_gid) == (0, 0)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    values = _read_environment_file(path)
    assert values["MODEL_SERVER_API_KEY"] == API_KEY
    assert values["MODEL_SERVER_SPEECH_PORT"] == str(target.speech_port)
    assert values["MODEL_SERVER_VAD"] == "false"
    assert values["MODEL_SERVER_CACHE_DIR"] == str(target.data_dir / "cache")
    assert values["MODEL_SERVER_WHISPER_MODEL_DIR"] == str(target.data_dir / "models" / MODEL_NAME)


@pytest.mark.usefixtures("first_run")
def test_the_model_is_copied_read_only_for_the_service_and_the_cache_is_its_own(
    target: Target,
) -> None:
    model = target.data_dir / "models" / MODEL_NAME
    assert sorted(p.name for p in model.iterdir()) == sorted(
        ["SHA256SUMS", "config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    )
    for path in model.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path
    for folder in (target.data_dir, target.data_dir / "models", model):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o750, folder
    assert stat.S_IMODE((target.data_dir / "cache").stat().st_mode) == 0o700


@pytest.mark.usefixtures("first_run")
def test_the_installed_unit_is_sandboxed_and_passes_systemd_analyze(target: Target) -> None:
    text = target.unit.read_text()
    assert f"EnvironmentFile={target.environment_file}\n" in text
    assert f"ExecStart={VENV}/bin/model-server run --profile cpu\n" in text
    for line in (
        "ProtectSystem=strict",
        f"ReadWritePaths={target.data_dir / 'cache'}",
        "PrivateDevices=yes",
        "DevicePolicy=closed",
        "IPAddressDeny=any",
        "IPAddressAllow=localhost",
        "NoNewPrivileges=yes",
    ):
        assert f"\n{line}\n" in text, line
    assert "DeviceAllow" not in text
    analyze = require_tool("systemd-analyze", "the test checks the unit as the role does")
    verified = subprocess.run(
        [analyze, "verify", str(target.unit)], capture_output=True, text=True, check=False
    )
    assert verified.returncode == 0, verified.stderr
    assert "model-server.service" not in verified.stderr, verified.stderr
    scored = subprocess.run(
        [analyze, "security", "--offline=yes", "--threshold=25", "--no-pager", str(target.unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert scored.returncode == 0, scored.stdout + scored.stderr


def test_it_passes_verify_against_the_services_started_from_its_files(
    verified: Verified,
) -> None:
    run = verified.run
    output = run.output + "\n--- services.log ---\n" + verified.services_log
    assert run.recap() == {"ok": 6, "changed": 0, "unreachable": 0, "failed": 0}, output
    assert verified.services_running, verified.services_log
    # The speech service loaded the role's copy of the model, named after its folder.
    assert verified.speech_models == [f"whisper-{MODEL_NAME}"]


def test_verify_fails_when_the_services_do_not_take_the_vaulted_key(verified: Verified) -> None:
    run = verified.run
    assert run.recap("wrong_key")["failed"] == 1, run.output
    assert "did not list a model for a caller with model_server_api_key" in (
        run.failure_messages("wrong_key")
    ), run.output
    assert "not-the-key-the-services-run-with" not in run.output


def test_verify_fails_when_nothing_answers(verified: Verified) -> None:
    run = verified.run
    assert run.recap("nowhere")["failed"] == 1, run.output
    failed = run.host_output("nowhere").split("\nfatal: [nowhere]")[0].rsplit("TASK [", 1)[-1]
    assert failed.startswith("model_server : Wait until the speech service reports itself healthy.")


def test_a_changed_weight_file_fails_the_checksum_naming_the_file(
    target: Target, first_run: PlaybookRun
) -> None:
    assert first_run.recap("tampered")["failed"] == 1, first_run.output
    message = first_run.failure_messages("tampered")
    assert "Model tampered" in message, first_run.output
    assert "does not match its SHA256SUMS" in message
    assert "./tokenizer/vocabulary.txt: FAILED" in message
    # Stopped before the settings: no EnvironmentFile points a service at the tampered copy.
    assert not (target.workdir / "tampered" / "etc" / "model-server.env").exists()


def test_a_file_missing_from_sha256sums_fails_naming_the_file(first_run: PlaybookRun) -> None:
    assert first_run.recap("extra")["failed"] == 1, first_run.output
    assert "holds files its SHA256SUMS does not list: extra.bin" in first_run.failure_messages(
        "extra"
    ), first_run.output


def test_a_model_folder_without_sha256sums_is_refused_before_any_change(
    target: Target, first_run: PlaybookRun
) -> None:
    bare = target.workdir / "bare-model"
    assert f"{bare} (model bare) has no SHA256SUMS" in first_run.failure_messages("bare"), (
        first_run.output
    )
    recap = first_run.recap("bare")
    assert (recap["failed"], recap["changed"]) == (1, 0), first_run.output
    assert not (target.workdir / "bare" / "data").exists()


def test_a_setting_model_server_refuses_stops_the_play_and_keeps_the_file(
    target: Target, second_run: SecondRun
) -> None:
    run = second_run.run
    assert run.recap("refused")["failed"] == 1, run.output
    message = run.failure_messages("refused")
    assert "model-server refuses the settings" in message, run.output
    assert "MODEL_SERVER_BEAM_SIZE" in message
    assert API_KEY not in run.output
    assert target.environment_file.read_bytes() == second_run.environment_before


def test_the_gpu_unit_opens_only_the_nvidia_devices_and_passes_systemd_analyze(
    target: Target, first_run: PlaybookRun
) -> None:
    """The gpu profile's unit, written and checked without a GPU (no service starts)."""
    assert first_run.recap("gpu")["failed"] == 0, first_run.output
    text = (target.workdir / "gpu" / "systemd" / "model-server.service").read_text()
    assert "ExecStart=" in text and "run --profile gpu\n" in text
    for line in ("PrivateDevices=no", "DevicePolicy=closed", "DeviceAllow=char-nvidia* rw"):
        assert f"\n{line}\n" in text, line
    assert "\nPrivateDevices=yes\n" not in text
    assert "Wants=nvidia-persistenced.service" in text
    assert "\nExecStartPre=-+/usr/bin/nvidia-modprobe -u -c=0\n" in text
    # From the controller, as from an artifact path: root's files, the service group's to read.
    for path in (target.workdir / "gpu/data/models/llm").rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o750 if path.is_dir() else 0o640), path
    values = _read_environment_file(target.workdir / "gpu" / "etc" / "model-server.env")
    assert values["MODEL_SERVER_VLLM_MODEL_DIR"] == str(target.workdir / "gpu/data/models/llm")


def test_it_changes_nothing_on_a_second_run(second_run: SecondRun) -> None:
    recap = second_run.run.recap()
    assert recap["changed"] == 0, second_run.run.output
    assert recap["failed"] == 0
