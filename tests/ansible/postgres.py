"""What the PostgreSQL-facing Ansible tests share: the cluster version and socket, dropping a
test's own cluster, and a CA standing in for the clinic's."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.tools import require_tool

VERSION = 15
SOCKET_DIR = "/var/run/postgresql"


def drop_cluster(cluster: str) -> None:
    """Stops and removes one of the tests' clusters, whatever state it is in."""
    pg_dropcluster = require_tool("pg_dropcluster", "the test makes and drops a cluster of its own")
    subprocess.run(
        [pg_dropcluster, "--stop", str(VERSION), cluster], capture_output=True, check=False
    )
    # pg_dropcluster leaves the files it did not create (the role's conf.d file, tls/).
    shutil.rmtree(f"/etc/postgresql/{VERSION}/{cluster}", ignore_errors=True)


@dataclass(frozen=True)
class ClinicCA:
    certificate: Path
    server_certificate: str
    server_key: str
    other_key: str


def make_clinic_ca(folder: Path, names: Sequence[str] = ("IP:127.0.0.1",)) -> ClinicCA:
    """A CA standing in for the clinic's, a server certificate it issued for `names`
    (subjectAltName entries), and a key that is not that certificate's."""
    openssl = require_tool("openssl", "the test plays the clinic CA")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc", "-days", "2"]
    ca_crt, ca_key = folder / "ca.crt", folder / "ca.key"
    ca = [
        *["-subj", "/CN=Test Clinic CA", "-addext", "basicConstraints=critical,CA:TRUE"],
        *["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        *["-keyout", str(ca_key), "-out", str(ca_crt)],
    ]
    server = [
        *["-CA", str(ca_crt), "-CAkey", str(ca_key), "-subj", "/CN=notes-db1"],
        *["-addext", f"subjectAltName={','.join(names)}"],
        *["-keyout", str(folder / "server.key"), "-out", str(folder / "server.crt")],
    ]
    other = [
        *["-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        *["-out", str(folder / "other.key")],
    ]
    commands = [
        [openssl, "req", "-x509", *ec, *ca],
        [openssl, "req", "-x509", *ec, *server],
        [openssl, "genpkey", *other],
    ]
    for command in commands:
        subprocess.run(command, capture_output=True, check=True, timeout=30)
    return ClinicCA(
        ca_crt,
        (folder / "server.crt").read_text(),
        (folder / "server.key").read_text(),
        (folder / "other.key").read_text(),
    )
