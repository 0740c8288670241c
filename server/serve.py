"""Running hypercorn: one process in-loop, or several worker processes."""

from __future__ import annotations

import gc
import logging

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config
from quart import Quart

from server.accesslog import AccessLog, EscapeControls, utc_formatter
from server.app import create_app
from server.config import Settings


def hypercorn_config(host: str, port: int, workers: int, *, grace_seconds: float = 30) -> Config:
    """Hypercorn settings shared by both modes.

    On SIGTERM (or SIGINT) hypercorn stops accepting connections, gives the
    requests in flight `grace_seconds` to finish, then runs the app's
    shutdown: the outbox sender finishes the message it is sending, hands
    the rest of its claim back, and the database closes.
    """
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.workers = workers
    config.accesslog = "-"
    config.logger_class = AccessLog
    config.errorlog = "-"
    config.keep_alive_timeout = 20
    config.graceful_timeout = grace_seconds
    return config


def freeze_after_startup(app: Quart) -> None:
    """Once the app is ready, keep what start-up built out of the cycle collector's sweeps.

    Modules, routes, models and templates live as long as the process; with
    them tracked, each full collection took 40-60 ms on this VM and held every
    request in flight. Only for serving: tests build many apps in one process.
    """

    @app.before_serving
    async def freeze() -> None:
        gc.collect()
        gc.freeze()


async def serve(settings: Settings, *, host: str, port: int, workers: int) -> int:
    """Serve until interrupted."""
    config = hypercorn_config(host, port, workers, grace_seconds=settings.shutdown_grace_seconds)
    if workers > 1:
        from hypercorn.run import run

        config.application_path = "server.serve:create_app_from_env()"
        return run(config)
    configure_logging()
    app = create_app(settings)
    freeze_after_startup(app)
    await hypercorn_serve(app, config)
    return 0


def create_app_from_env() -> Quart:
    """Entry point for hypercorn's worker processes (`server.serve:create_app_from_env()`)."""
    configure_logging()
    app = create_app(Settings.from_env())
    freeze_after_startup(app)
    return app


def configure_logging() -> None:
    """The app's own log lines on stderr (hypercorn logs access and its errors itself)."""
    logger = logging.getLogger("server")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(utc_formatter())
        handler.addFilter(EscapeControls())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
