"""Starts the model services, waits until each answers, and restarts any that dies.

Written here rather than left to systemd because the zero-config profile (`make run` on a
laptop) has no unit files; on the GPU box, systemd supervises `model-server run` itself.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

import httpx

from model_server.commands import OFFLINE_ENV, ServiceSpec

logger = logging.getLogger("model_server.supervisor")
READY_TIMEOUT = 600.0  # a large model on a slow disk takes minutes to load
MAX_BACKOFF = 30.0


@dataclass
class _Running:
    spec: ServiceSpec
    process: subprocess.Popen[bytes]
    restarts: int = 0
    started_at: float = field(default_factory=time.monotonic)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with(supervisor_pid: int) -> Callable[[], None]:
    """Run in each service's process before it starts: it is sent SIGTERM when the supervisor
    dies. A supervisor killed outright (SIGKILL, the OOM killer) runs no cleanup, and its
    services would live on as orphans holding their ports, so that the next `model-server run`
    could not start its own (issue 11's fault drill)."""

    def arrange() -> None:
        if sys.platform != "linux":
            return
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != supervisor_pid:  # it died before the line above: nothing to serve
            os._exit(1)

    return arrange


def _start(spec: ServiceSpec) -> subprocess.Popen[bytes]:
    env = {**os.environ, **OFFLINE_ENV, **spec.env}
    return subprocess.Popen(  # noqa: S603 (our own argv, no shell)
        spec.argv, env=env, preexec_fn=_die_with(os.getpid())
    )


def _answers(url: str, headers: dict[str, str]) -> bool:
    try:
        return httpx.get(url, headers=headers, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


class Supervisor:
    def __init__(
        self,
        specs: list[ServiceSpec],
        announce: Callable[[str], None] = print,
        ready_timeout: float = READY_TIMEOUT,
    ) -> None:
        self.specs, self.announce, self.ready_timeout = specs, announce, ready_timeout
        self.running: dict[str, _Running] = {}
        self.stopping = False

    def start_all(self) -> None:
        for spec in self.specs:
            self.running[spec.name] = _Running(spec, _start(spec))
        for spec in self.specs:
            self._wait_ready(spec)
            if spec.base_url:
                self.announce(f"{spec.name} ready: {spec.base_url}")

    def _wait_ready(self, spec: ServiceSpec) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.running[spec.name].process.poll() is not None:
                raise RuntimeError(f"{spec.name} exited while starting; see the lines above")
            if _answers(spec.health_url, spec.health_headers):
                return
            time.sleep(0.3)
        raise RuntimeError(f"{spec.name} did not become ready in {self.ready_timeout:.0f}s")

    def check_once(self) -> list[str]:
        """Restart every service that has exited; returns the names restarted."""
        restarted = []
        for name, run in self.running.items():
            code = run.process.poll()
            if code is None or self.stopping:
                continue
            # Back off when it keeps dying, but forget old crashes once it has run a while.
            if time.monotonic() - run.started_at > 60:
                run.restarts = 0
            delay = min(MAX_BACKOFF, 2.0**run.restarts - 1)
            logger.error("%s exited with %s; restarting in %.0fs", name, code, delay)
            time.sleep(delay)
            run.process = _start(run.spec)
            run.restarts += 1
            run.started_at = time.monotonic()
            restarted.append(name)
        return restarted

    def stop_all(self) -> None:
        self.stopping = True
        for run in self.running.values():
            if run.process.poll() is None:
                run.process.terminate()
        for run in self.running.values():
            try:
                run.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                run.process.kill()

    def run_forever(self) -> None:
        def stop(_signum: int, _frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        try:
            self.start_all()
            while True:
                time.sleep(1)
                for name in self.check_once():
                    self._wait_ready(self.running[name].spec)
                    self.announce(f"{name} restarted")
        except KeyboardInterrupt:
            pass
        finally:
            self.stop_all()
