from __future__ import annotations

import pytest

from model_server.cli import main


def test_run_says_plainly_that_no_engine_is_built_yet(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--profile", "cpu"]) == 2
    assert "not available in this build yet" in capsys.readouterr().err


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--profile", "tpu"])
    assert exited.value.code == 2
