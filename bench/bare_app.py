"""The ceiling: a minimal Quart app with one route, served like the real one."""

from __future__ import annotations

import asyncio
import sys

from hypercorn.asyncio import serve
from quart import Quart

from server.serve import hypercorn_config

app = Quart(__name__)


@app.get("/")
async def index() -> str:
    """One tiny HTML response."""
    return "<!doctype html><title>bare</title><p>hello</p>"


if __name__ == "__main__":
    asyncio.run(serve(app, hypercorn_config("127.0.0.1", int(sys.argv[1]), 1)))  # type: ignore[arg-type]
