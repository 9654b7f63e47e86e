from __future__ import annotations

from pathlib import Path

import pytest

from tests.converge.box import REPO
from tests.converge.clinic import build_wheelhouse


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's CPU wheelhouse, as `scripts/build-wheelhouse.sh` builds it for a clinic."""
    return build_wheelhouse(REPO, tmp_path_factory.mktemp("wheelhouse") / "wheelhouse-cpu")
