"""`python -m model_server.llm_front_main`: the LLM front process (CPU profile)."""

from __future__ import annotations

import uvicorn

from model_server.llm_front import create_llm_front
from model_server.logging_setup import configure_logging
from model_server.settings import load_model_server_settings


def main() -> None:
    configure_logging()
    settings = load_model_server_settings()
    app = create_llm_front(f"http://127.0.0.1:{settings.llm_backend_port}", settings.api_key)
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
