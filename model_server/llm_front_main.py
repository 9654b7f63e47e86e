"""`python -m model_server.llm_front_main`: the LLM front process (CPU profile)."""

from __future__ import annotations

import os

import uvicorn

from model_server.commands import BACKEND_KEY_ENV
from model_server.llm_front import create_llm_front
from model_server.logging_setup import configure_logging
from model_server.settings import load_model_server_settings


def main() -> None:
    configure_logging()
    settings = load_model_server_settings()
    app = create_llm_front(
        f"http://127.0.0.1:{settings.llm_backend_port}",
        settings.api_key,
        # Set by `model-server run` (model_server.commands); a front started by hand talks to
        # a backend started by hand, which may have no key.
        backend_key=os.environ.get(BACKEND_KEY_ENV, ""),
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.llm_port,
        access_log=False,
        log_config=None,
        server_header=False,
    )


if __name__ == "__main__":
    main()
