"""`python -m model_server.speech_main`: the speech service process (started by the supervisor)."""

from __future__ import annotations

import os

import uvicorn

from model_server.commands import OFFLINE_ENV
from model_server.engines.loader import load_engine, model_id
from model_server.logging_setup import configure_logging
from model_server.settings import load_model_server_settings
from model_server.speech_app import create_speech_app
from model_server.speech_service import SpeechService


def main() -> None:
    os.environ.update(OFFLINE_ENV)
    configure_logging()
    settings = load_model_server_settings()
    service = SpeechService(load_engine(settings), settings, model_id(settings))
    uvicorn.run(
        create_speech_app(service),
        host=settings.host,
        port=settings.speech_port,
        access_log=False,  # paths carry nothing, but the policy is: the app logs, not uvicorn
        log_config=None,
        server_header=False,
    )


if __name__ == "__main__":
    main()
