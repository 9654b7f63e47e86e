"""The LLM the drafting asks: `model-server run --profile cpu` started here, or EVAL_LLM_URL.

EVAL_LLM_CLASS says what it is trusted to do, as APPLIANCE_LLM_CLASS does in the appliance:
`router` (default) only routes; `writer` also rewrites every statement (appliance.drafting.rewrite).
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from types import TracebackType

import httpx

from appliance.drafting.rewrite import StatementWriter
from appliance.drafting.router import LLMSectionClassifier

READY_TIMEOUT_S = 240
# llama.cpp threads for the server started here (EVAL_LLM_THREADS overrides). The router's
# prompts are short: one thread is as fast as two (docs/performance.md, "LLM threads") and
# leaves the other core to Whisper, which runs while llama.cpp loads.
DEFAULT_THREADS = "1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ModelServer:
    """`python -m model_server.cli run --profile cpu` on free loopback ports, until stopped.

    Start-up is not waited for in `start()`, so Whisper can work while llama.cpp loads; `llm_url`
    waits for the "llm ready: URL" line. Its log lines are kept and shown only if it fails.
    """

    def __init__(self) -> None:
        self.threads = os.environ.get("EVAL_LLM_THREADS", DEFAULT_THREADS)
        self.lines: list[str] = []
        self._ready: queue.Queue[str] = queue.Queue()
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._url: str | None = None
        self.started_at = 0.0
        self.ready_after_s = 0.0

    def start(self) -> None:
        ports = {name: free_port() for name in ("SPEECH_PORT", "LLM_PORT", "LLM_BACKEND_PORT")}
        env = {
            **os.environ,
            **{f"MODEL_SERVER_{k}": str(v) for k, v in ports.items()},
            "MODEL_SERVER_CPU_THREADS": self.threads,
        }
        self.started_at = time.perf_counter()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "model_server.cli", "run", "--profile", "cpu"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            self.lines.append(line)
            if " ready: " in line:
                self._ready.put(line.strip())

    def llm_url(self) -> str:
        if self._url is not None:
            return self._url
        assert self._process is not None, "start() first"
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                name, url = self._ready.get(timeout=1).split(" ready: ", 1)
            except queue.Empty:
                if self._process.poll() is not None:
                    raise RuntimeError(self._failure("exited")) from None
                continue
            if name == "llm":
                self._url = url
                self.ready_after_s = time.perf_counter() - self.started_at
                return url
        raise RuntimeError(self._failure(f"did not print 'llm ready' in {READY_TIMEOUT_S} s"))

    def _failure(self, what: str) -> str:
        tail = "".join(self.lines[-30:])
        return f"model-server {what}; its last lines:\n{tail}"

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if self._reader is not None:
            self._reader.join(timeout=10)
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> ModelServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def served_model(base_url: str, api_key: str = "") -> str:
    """The first model id the OpenAI-compatible server lists."""
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    reply = httpx.get(f"{base_url.rstrip('/')}/models", headers=headers, timeout=30)
    reply.raise_for_status()
    return str(reply.json()["data"][0]["id"])


class CountingClassifier:
    """LLMSectionClassifier as is, counting its calls, unusable answers and time."""

    def __init__(self, inner: LLMSectionClassifier) -> None:
        self.inner = inner
        self.calls = 0
        self.no_answer = 0
        self.seconds = 0.0

    def classify(self, sentence: str, sections: Sequence[tuple[str, str]]) -> str | None:
        started = time.perf_counter()
        answer = self.inner.classify(sentence, sections)
        self.seconds += time.perf_counter() - started
        self.calls += 1
        self.no_answer += answer is None
        return answer


LLM_CLASSES = ("router", "writer")


def llm_class_from_env() -> str:
    """EVAL_LLM_CLASS, checked: a typo must not silently score the router instead."""
    value = os.environ.get("EVAL_LLM_CLASS", "router").strip().lower() or "router"
    if value not in LLM_CLASSES:
        raise ValueError(f"EVAL_LLM_CLASS must be one of {', '.join(LLM_CLASSES)}, not {value!r}")
    return value


class CountingWriter:
    """A StatementWriter (the LLM one) as is, counting its calls, unusable answers and time."""

    def __init__(self, inner: StatementWriter) -> None:
        self.inner = inner
        self.calls = 0
        self.no_answer = 0
        self.seconds = 0.0

    def rewrite(self, sentence: str, section_title: str, modality: str) -> str | None:
        started = time.perf_counter()
        self.calls += 1
        try:
            answer = self.inner.rewrite(sentence, section_title, modality)
        finally:
            self.seconds += time.perf_counter() - started
        self.no_answer += answer is None
        return answer
