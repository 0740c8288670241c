"""The ceilings: a minimal Quart app served like the real one.

`GET /` is one tiny page (the ceiling for pages); `POST /login` only checks
the demo password through the app's own `run_cpu` and redirects (the ceiling for
password sign-ins: the same stack and pool, without database or session).
"""

from __future__ import annotations

import asyncio
import sys

from hypercorn.asyncio import serve
from quart import Quart, redirect, request
from quart.typing import ResponseReturnValue

from server.demo import DEMO_PASSWORD
from server.security import _HASHER, verify_password
from server.serve import hypercorn_config

app = Quart(__name__)
PASSWORD_HASH = _HASHER.hash(DEMO_PASSWORD)


@app.get("/")
async def index() -> str:
    """One tiny HTML response."""
    return "<!doctype html><title>bare</title><p>hello</p>"


@app.post("/login")
async def login() -> ResponseReturnValue:
    """Check the password off the loop, as the real sign-in does, and redirect."""
    form = await request.form
    if not await verify_password(PASSWORD_HASH, form.get("password", "")):
        return "wrong password", 400
    return redirect("/", 303)


if __name__ == "__main__":
    asyncio.run(serve(app, hypercorn_config("127.0.0.1", int(sys.argv[1]), 1)))  # type: ignore[arg-type]
