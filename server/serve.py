"""Running hypercorn: one process in-loop, or several worker processes."""

from __future__ import annotations

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config

from server.config import Settings


def hypercorn_config(host: str, port: int, workers: int) -> Config:
    """Hypercorn settings shared by both modes."""
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.workers = workers
    config.accesslog = "-"
    config.errorlog = "-"
    config.keep_alive_timeout = 20
    return config


async def serve(settings: Settings, *, host: str, port: int, workers: int) -> int:
    """Serve until interrupted."""
    config = hypercorn_config(host, port, workers)
    if workers > 1:
        from hypercorn.run import run

        config.application_path = "server.app:create_app_from_env()"
        return run(config)
    from server.app import configure_logging, create_app

    configure_logging()
    await hypercorn_serve(create_app(settings), config)
    return 0
