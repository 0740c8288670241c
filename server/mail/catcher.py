"""A real SMTP server that keeps what it receives: development's mail and the tests'.

With no MYPAGE_SMTP_HOST, `mypage serve` in development starts one on a free
local port and shows its mail at /dev/mail, so nobody needs a mail server to
click a reset link. The tests start the same server as a fixture.
"""

from __future__ import annotations

import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

KEEP = 200


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (aiosmtpd's Controller cannot take port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class CaughtMail:
    """One received message, parsed."""

    received_at: datetime
    mail_from: str
    rcpt_to: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        """Decoded Subject."""
        return str(self.message["Subject"] or "")

    @property
    def to(self) -> str:
        """Decoded To."""
        return str(self.message["To"] or "")

    @property
    def body(self) -> str:
        """The plain-text part, decoded."""
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""


class _Handler:
    def __init__(self, box: MailCatcher) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        parsed = message_from_bytes(raw, policy=policy.default)
        self.box.add(
            CaughtMail(
                received_at=datetime.now(UTC),
                mail_from=str(envelope.mail_from),
                rcpt_to=tuple(envelope.rcpt_tos),
                message=parsed,
            )
        )
        return "250 Message accepted for delivery"


class MailCatcher:
    """aiosmtpd on 127.0.0.1 in its own thread, remembering the last messages."""

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        login: tuple[str, str] | None = None,
        keep: int = KEEP,
        on_mail: Callable[[CaughtMail], None] | None = None,
    ) -> None:
        self.host = host
        self.on_mail = on_mail
        self.port = port or free_port(host)
        self.login = login
        self._mail: deque[CaughtMail] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def add(self, mail: CaughtMail) -> None:
        """Keep a received message."""
        with self._lock:
            self._mail.append(mail)
        if self.on_mail is not None:
            self.on_mail(mail)

    @property
    def messages(self) -> list[CaughtMail]:
        """What arrived, oldest first."""
        with self._lock:
            return list(self._mail)

    def clear(self) -> None:
        """Forget what arrived."""
        with self._lock:
            self._mail.clear()

    def _authenticator(self) -> Callable[..., AuthResult] | None:
        if self.login is None:
            return None
        expected = self.login

        def check(server: Any, session: Any, env: Any, mechanism: str, data: Any) -> AuthResult:
            if not isinstance(data, LoginPassword):
                return AuthResult(success=False, handled=False)
            given = (data.login.decode(), data.password.decode())
            # handled=False: aiosmtpd itself answers 235 or 535.
            return AuthResult(success=given == expected, handled=False)

        return check

    def start(self) -> MailCatcher:
        """Listen (blocks until the server answers)."""
        options: dict[str, Any] = {}
        if self.login is not None:
            options = {
                "authenticator": self._authenticator(),
                "auth_required": True,
                "auth_require_tls": False,
            }
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, **options)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (what arrived is kept)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        """True while listening."""
        return self._controller is not None
