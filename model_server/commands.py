"""The command lines of the services `model-server run` supervises.

Each service is its own process: a crash in one (a model running out of memory) does not take
the others down, and the supervisor restarts just that one.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from model_server.bundled import LLM_FILE, smollm2_gguf
from model_server.settings import ModelServerSettings

# Belt and braces for "no outbound calls": libraries that could phone home are told not to.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
}
# The LLM front reads the llama.cpp backend's key from here (llama-cpp-python's server reads
# its own from API_KEY: both from the environment, which only their user can read).
BACKEND_KEY_ENV = "LLM_BACKEND_KEY"


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    argv: list[str]
    health_url: str
    base_url: str | None  # printed for people; None for internal services
    env: dict[str, str] = field(default_factory=dict)
    health_headers: dict[str, str] = field(default_factory=dict)


def llm_model_name(settings: ModelServerSettings, model_path: Path | None) -> str:
    if settings.llm_model_name:
        return settings.llm_model_name
    if model_path is None:
        return "local-llm"
    stem = model_path.name.removesuffix(".gguf")
    return "smollm2-135m-instruct" if stem == LLM_FILE.removesuffix(".gguf") else stem


def _url(settings: ModelServerSettings, port: int) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104
    return f"http://{host}:{port}"


def speech_service(settings: ModelServerSettings) -> ServiceSpec:
    base = _url(settings, settings.speech_port)
    return ServiceSpec(
        "speech",
        [sys.executable, "-m", "model_server.speech_main"],
        f"{base}/health",
        f"{base}/v1",
    )


def llama_cpp_services(settings: ModelServerSettings) -> list[ServiceSpec]:
    """llama-cpp-python's server on a loopback port, behind our `json_schema` front.

    Loopback is not enough on a shared box: any local user could send prompts to the backend
    port, past the front's API key. So the backend requires a key of its own, new at each start
    and known only to the front and to the supervisor's health check. It reaches both children
    through their environment, never their command lines (/proc/<pid>/cmdline is readable by
    every user; /proc/<pid>/environ only by theirs and root)."""
    model = settings.llm_model_path or smollm2_gguf()
    backend_key = secrets.token_urlsafe(32)
    backend = f"http://127.0.0.1:{settings.llm_backend_port}"
    # Half the cores by default: llama.cpp's threads spin, and sharing the cores with Whisper
    # (a transcription beside a draft) made each call many times slower when both took them
    # all, while a 135M model is as fast on one thread (docs/performance.md, "LLM threads").
    threads = settings.cpu_threads or max(1, (os.cpu_count() or 2) // 2)
    llama = ServiceSpec(
        "llm-backend",
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--model_alias",
            llm_model_name(settings, model),
            "--host",
            "127.0.0.1",
            "--port",
            str(settings.llm_backend_port),
            "--n_ctx",
            str(settings.llm_context),
            "--n_threads",
            str(threads),
            # llama.cpp's verbose mode prints thousands of load lines and per-request timings;
            # nothing of the request, but nothing anyone needs either.
            "--verbose",
            "False",
        ],
        f"{backend}/v1/models",
        None,
        # llama-cpp-python's ServerSettings reads api_key from the environment when the
        # command line does not set it; every route but its docs then needs the key.
        env={"API_KEY": backend_key},
        health_headers={"Authorization": f"Bearer {backend_key}"},
    )
    base = _url(settings, settings.llm_port)
    front = ServiceSpec(
        "llm",
        [sys.executable, "-m", "model_server.llm_front_main"],
        f"{base}/health",
        f"{base}/v1",
        env={BACKEND_KEY_ENV: backend_key},
    )
    return [llama, front]


def vllm_service(settings: ModelServerSettings) -> ServiceSpec:
    """vLLM honours `json_schema` itself, so it serves the LLM port directly.

    Request logging: vLLM (>= 0.10.2, the version the `gpu` extra pins) logs no requests unless
    `--enable-log-requests` is given, and we never give it; `--disable-log-requests` no longer
    exists there.
    """
    if settings.vllm_model_dir is None:
        raise ValueError("the gpu profile needs MODEL_SERVER_VLLM_MODEL_DIR (a local model folder)")
    model = settings.vllm_model_dir
    api_key = settings.vllm_api_key or settings.api_key
    argv = [
        "vllm",
        "serve",
        str(model),
        "--served-model-name",
        settings.llm_model_name or model.name,
        "--host",
        settings.host,
        "--port",
        str(settings.llm_port),
        "--max-model-len",
        str(settings.vllm_max_model_len),
        "--gpu-memory-utilization",
        str(settings.vllm_gpu_memory_utilization),
        "--tensor-parallel-size",
        str(settings.vllm_tensor_parallel_size),
        "--generation-config",
        "vllm",  # never fetch a generation config from a hub
    ]
    base = _url(settings, settings.llm_port)
    # Through the environment, not argv: command lines are visible to every local user (ps).
    env = {"VLLM_API_KEY": api_key} if api_key else {}
    return ServiceSpec("llm", argv, f"{base}/health", f"{base}/v1", env)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refuse_open_without_key(settings: ModelServerSettings) -> None:
    """Bound beyond loopback, the services would take audio and prompts (PHI) from anyone who
    can reach the port: refused unless clients must present the API key."""
    if not _loopback(settings.host) and not settings.api_key:
        raise ValueError(
            f"MODEL_SERVER_HOST is {settings.host}, not loopback, and MODEL_SERVER_API_KEY is "
            "empty: set an API key (the appliance sends it as APPLIANCE_MODEL_API_KEY), or bind "
            "to 127.0.0.1."
        )


def services_for(profile: str, settings: ModelServerSettings) -> list[ServiceSpec]:
    refuse_open_without_key(settings)
    if profile == "gpu":
        return [speech_service(settings), vllm_service(settings)]
    return [speech_service(settings), *llama_cpp_services(settings)]
