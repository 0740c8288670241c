"""A real SMTP server for browser tests: aiosmtpd in a thread, keeping messages."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"


_current: list[MailCatcher] = []


def current() -> MailCatcher:
    """The catcher the live server sends to (set by the `mail_catcher` fixture)."""
    return _current[-1]


class MailCatcher:
    """Start, read and stop; `port` must be picked beforehand (port=0 fails)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.handler = _Handler()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=port)

    def start(self) -> None:
        """Listen on 127.0.0.1:port."""
        self.controller.start()
        _current.append(self)

    def stop(self) -> None:
        """Stop listening."""
        self.controller.stop()
        _current.remove(self)

    def messages_to(self, address: str) -> list[EmailMessage]:
        """Every message received for an address, oldest first."""
        with self.handler.lock:
            return [m for m in self.handler.messages if address in str(m.get("To", ""))]

    def wait_for(self, address: str, count: int = 1, timeout: float = 15) -> EmailMessage:
        """Block until the address has `count` messages; return the newest."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages_to(address)
            if len(found) >= count:
                return found[-1]
            time.sleep(0.1)
        raise AssertionError(f"no mail for {address} within {timeout} s")
