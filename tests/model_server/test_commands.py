from __future__ import annotations

from pathlib import Path

import pytest

from model_server.commands import BACKEND_KEY_ENV, OFFLINE_ENV, services_for, vllm_service
from model_server.settings import ModelServerSettings


def test_the_gpu_profile_runs_vllm_on_the_llm_port_with_its_memory_share() -> None:
    settings = ModelServerSettings(
        vllm_model_dir=Path("/models/llama-3.1-8b-instruct"),
        llm_model_name="clinic-8b",
        vllm_gpu_memory_utilization=0.7,
        vllm_max_model_len=16384,
        api_key="k3y",
    )
    spec = vllm_service(settings)
    argv = spec.argv
    assert argv[:3] == ["vllm", "serve", "/models/llama-3.1-8b-instruct"]
    pairs = dict(zip(argv[3::2], argv[4::2], strict=False))
    assert pairs["--served-model-name"] == "clinic-8b"
    assert pairs["--max-model-len"] == "16384"
    assert pairs["--gpu-memory-utilization"] == "0.7"
    assert pairs["--host"] == "127.0.0.1" and pairs["--port"] == "8102"
    assert spec.base_url == "http://127.0.0.1:8102/v1"


def test_vllm_never_logs_requests_and_never_sees_the_key_on_its_command_line() -> None:
    spec = vllm_service(ModelServerSettings(vllm_model_dir=Path("/m"), api_key="k3y"))
    assert "--enable-log-requests" not in spec.argv
    assert "k3y" not in " ".join(spec.argv)
    assert spec.env == {"VLLM_API_KEY": "k3y"}


def test_the_gpu_profile_needs_a_local_model_folder() -> None:
    with pytest.raises(ValueError, match="MODEL_SERVER_VLLM_MODEL_DIR"):
        services_for("gpu", ModelServerSettings())


def test_the_cpu_profile_puts_llama_cpp_behind_the_front_on_loopback(tmp_path: Path) -> None:
    model = tmp_path / "my-model.Q4.gguf"
    settings = ModelServerSettings(llm_model_path=model, host="0.0.0.0", api_key="k3y")
    specs = services_for("cpu", settings)
    names = [s.name for s in specs]
    assert names == ["speech", "llm-backend", "llm"]
    backend = specs[1]
    assert backend.argv[backend.argv.index("--host") + 1] == "127.0.0.1"
    assert backend.argv[backend.argv.index("--model_alias") + 1] == "my-model.Q4"
    assert backend.base_url is None  # internal: never announced
    assert specs[2].base_url == "http://127.0.0.1:8102/v1"


def test_every_child_is_told_not_to_phone_home() -> None:
    assert OFFLINE_ENV["HF_HUB_OFFLINE"] == "1" and OFFLINE_ENV["VLLM_NO_USAGE_STATS"] == "1"


@pytest.mark.parametrize("profile", ["cpu", "gpu"])
def test_services_bound_beyond_loopback_need_an_api_key(profile: str, tmp_path: Path) -> None:
    open_to_all = ModelServerSettings(host="0.0.0.0", vllm_model_dir=tmp_path)
    with pytest.raises(ValueError, match="MODEL_SERVER_API_KEY"):
        services_for(profile, open_to_all)
    keyed = ModelServerSettings(host="10.0.0.5", api_key="k3y", vllm_model_dir=tmp_path)
    assert services_for(profile, keyed)


def test_the_llama_cpp_backend_gets_a_new_key_of_its_own_at_each_start(tmp_path: Path) -> None:
    """Known to the backend (API_KEY, which llama-cpp-python's server reads), to the front that
    proxies to it and to the supervisor's health check; never on a command line."""
    settings = ModelServerSettings(llm_model_path=tmp_path / "m.gguf", api_key="k3y")
    speech, backend, front = services_for("cpu", settings)
    key = backend.env["API_KEY"]
    assert len(key) >= 32 and key != "k3y"
    assert front.env == {BACKEND_KEY_ENV: key}
    assert backend.health_headers == {"Authorization": f"Bearer {key}"}
    assert not any(key in part for spec in (backend, front) for part in spec.argv)
    assert speech.env == {}
    assert services_for("cpu", settings)[1].env["API_KEY"] != key
