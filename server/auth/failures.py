"""Budgets of failed attempts per client address (sign-in, codes, registration).

Teachers at one school, or behind one carrier address, share an address.
Counting every sign-in there would turn a whole school away at 8:00; what
an attacker needs is many failures, so those are what the address spends.
Each account keeps its own guard (blocking after five wrong passwords, five
tries per code); an overall ceiling on the route stays against floods.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from quart import Quart, current_app, make_response, request
from quart_rate_limiter import RateLimiter, RateLimitExceeded
from werkzeug.exceptions import HTTPException

from server.auth.web import rate_limit_key
from server.errors import DomainError
from server.lib.ratelimit_store import FailureCounter, FailureLimit

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
EXTENSION = "mypage_failures"
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
# Per client address: ten failures a minute and a hundred an hour, as the
# request limits were before they counted successes too.
SIGN_IN_FAILURES = (FailureLimit(10, MINUTE), FailureLimit(100, HOUR))
CODE_FAILURES = (FailureLimit(10, MINUTE), FailureLimit(60, HOUR))
REGISTRATION_FAILURES = (FailureLimit(10, MINUTE), FailureLimit(50, HOUR))


def install(app: Quart, limiter: RateLimiter) -> None:
    """Keep failure budgets in the store of the app's rate limiter."""
    app.extensions[EXTENSION] = FailureCounter(limiter.store)


def limit_failures(*limits: FailureLimit) -> Callable[[F], F]:
    """Answer 429 once the client has used up `limits` on failed attempts at this view.

    A failed attempt is any 4xx answer of the view, returned or raised (wrong
    password or code, refused input); redirects and pages that go on cost
    nothing. Put it
    below `@rate_limit`, right above the view.
    """

    def decorate(view: F) -> F:
        @wraps(view)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            counter: FailureCounter | None = current_app.extensions.get(EXTENSION)
            if counter is None or not current_app.config["QUART_RATE_LIMITER_ENABLED"]:
                return await view(*args, **kwargs)
            name = f"{request.endpoint}-{await rate_limit_key()}"
            wait = await counter.retry_after(name, limits)
            if wait is not None:
                raise RateLimitExceeded(wait)
            try:
                response = await make_response(await view(*args, **kwargs))
            except (DomainError, HTTPException) as error:  # answered by the error handlers
                status = error.status if isinstance(error, DomainError) else error.code
                if status is not None and 400 <= status < 500:
                    await counter.spend(name, limits)
                raise
            if 400 <= response.status_code < 500:
                await counter.spend(name, limits)
            return response

        return wrapper  # type: ignore[return-value]

    return decorate
