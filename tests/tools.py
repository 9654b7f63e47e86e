"""The one way a test asks for something outside Python's reach: a program or a heavy library.

`make test` installs all of them (scripts/bootstrap.sh with WITH_TEST_TOOLS=1), so on a machine
set up that way nothing here skips. Elsewhere (a bare `pytest` on a laptop) a missing one skips
the test with the package to install; under CI (`CI=true`, as .ci/run sets) it fails the test
instead, so a runner that lost a tool cannot turn into a run that silently tests less.

Call these inside a test or fixture (not at import time): skipping and failing need a test.
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

# Program -> what to install to get it.
TOOLS = {
    "chromium": "the Debian package chromium",
    "promtool": "the Debian package prometheus",
    "prometheus": "the Debian package prometheus",
    "espeak-ng": "the Debian package espeak-ng",
    "sox": "the Debian package sox",
    "ansible-playbook": "ansible (the dev extra: `make install`)",
    "ansible-lint": "ansible-lint (the dev extra: `make install`)",
    "nft": "the Debian package nftables",
    "ip": "the Debian package iproute2",
    "cryptsetup": "the Debian package cryptsetup-bin",
    "losetup": "the Debian package mount",
    "blkid": "the Debian package util-linux",
    "unshare": "the Debian package util-linux",
    "git": "the Debian package git",
    "tar": "the Debian package tar",
    "cp": "the Debian package coreutils",
    "sshd": "the Debian package openssh-server",
    "visudo": "the Debian package sudo",
    "chronyd": "the Debian package chrony",
    "auditctl": "the Debian package auditd",
    "mkfs.ext4": "the Debian package e2fsprogs",
    "pdftoppm": "the Debian package poppler-utils",
    "nginx": "the Debian package nginx",
    "amtool": "the Debian package prometheus-alertmanager",
    "prometheus-blackbox-exporter": "the Debian package prometheus-blackbox-exporter",
    "prometheus-node-exporter": "the Debian package prometheus-node-exporter",
    "restic": "the Debian package restic",
    "openssl": "the Debian package openssl",
    "systemd-analyze": "the Debian package systemd",
    "initdb": "the Debian package postgresql-15 (in /usr/lib/postgresql/15/bin)",
    "pg_ctlcluster": "the Debian package postgresql-common",
    "pg_dump": "the Debian package postgresql-client-15",
    "pg_restore": "the Debian package postgresql-client-15",
    "psql": "the Debian package postgresql-client-15",
    "pg_dropcluster": "the Debian package postgresql-common",
}
# Importable module -> what to install to get it (those that pyproject.toml cannot declare).
MODULES = {
    "torch": "torch==2.13.0, the CPU build (scripts/bootstrap.sh installs it)",
    "whisper": "openai-whisper==20250625 (scripts/bootstrap.sh installs it)",
}
HOW = "`make test` installs it (scripts/bootstrap.sh with WITH_TEST_TOOLS=1)"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _missing(what: str, why: str, install: str) -> NoReturn:
    message = f"{what} is missing ({why}): install {install}; {HOW}"
    if in_ci():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


def require_tool(
    name: str, why: str, *, also: tuple[str, ...] = (), directory: Path | None = None
) -> str:
    """The path of program `name` (or of one of `also`, other names of the same program).

    `directory` looks there instead of on PATH (the virtualenv's bin for ansible-playbook).
    """
    install = TOOLS[name]  # a KeyError here: add the program and its package to TOOLS
    search = str(directory) if directory is not None else None
    for candidate in (name, *also):
        found = shutil.which(candidate, path=search)
        if found:
            return found
    _missing(f"the program {name}", why, install)


def require_root(why: str) -> None:
    """Network namespaces, nftables and loop devices need root; `make test` runs as root on the
    build machines, so there this never skips."""
    if os.geteuid() != 0:
        message = f"root is needed ({why}): run the tests as root"
        if in_ci():
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)


def require_module(name: str, why: str) -> ModuleType:
    """The imported module `name`, for libraries scripts/bootstrap.sh installs beside the
    project's own dependencies (a plain import would break collection of a whole file)."""
    install = MODULES[name]  # a KeyError here: add the module and its package to MODULES
    try:
        return importlib.import_module(name)
    except ImportError:
        _missing(f"the Python module {name}", why, install)
