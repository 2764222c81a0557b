"""Sending over SMTP through a small pool of reused connections, optionally rate-capped."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import idna
from aiolimiter import AsyncLimiter
from aiosmtplib import (
    SMTP,
    SMTPException,
    SMTPRecipientsRefused,
    SMTPResponse,
    SMTPResponseException,
    SMTPSenderRefused,
    SMTPServerDisconnected,
)

from service.mail.errors import PermanentFailure, TemporaryFailure

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class SmtpConfig:
    hostname: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool | None = None
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """``smtp://user:pass@host:587?starttls=true`` or ``smtps://host:465``."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("an SMTP URL looks like smtp://user:pass@host:587?starttls=true")
        query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
        start_tls = _flag(query.get("starttls"))
        use_tls = parts.scheme == "smtps"
        if use_tls and start_tls:
            raise ValueError("smtps:// is TLS from the start; starttls applies to smtp:// only")
        default_port = 465 if use_tls else 587 if start_tls else 25
        return cls(
            hostname=parts.hostname,
            port=parts.port or default_port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=use_tls,
            start_tls=start_tls,
            timeout=float(query.get("timeout", cls.timeout)),
        )


class SmtpSender:
    """Up to ``concurrency`` connections, each reused for message after message.

    A connection that failed or that the server closed is opened again on its next use.
    """

    def __init__(self, config: SmtpConfig, *, concurrency: int = 4, rate: float = 0) -> None:
        self.config = config
        self._idle: asyncio.LifoQueue[SMTP] = asyncio.LifoQueue()
        for _ in range(concurrency):
            self._idle.put_nowait(self._client())
        self._limiter = _limiter(rate)

    @classmethod
    def from_url(cls, url: str, *, concurrency: int = 4, rate: float = 0) -> SmtpSender:
        return cls(SmtpConfig.from_url(url), concurrency=concurrency, rate=rate)

    async def send(self, message: bytes, *, sender: str, recipient: str) -> None:
        if self._limiter is not None:
            await self._limiter.acquire()
        client = await self._idle.get()
        try:
            refused = await self._transaction(client, message, sender, recipient)
        except (TemporaryFailure, PermanentFailure):
            raise
        except SMTPResponseException as exc:
            raise _classified(exc) from exc
        except SMTPRecipientsRefused as exc:
            refusal = exc.recipients[0]
            raise _by_code(refusal.code, refusal.message) from exc
        except (SMTPException, OSError) as exc:
            client.close()
            raise TemporaryFailure(f"SMTP connection failed: {exc}") from exc
        except BaseException:
            # Cancelled half-way through a transaction: the connection is in an unknown state.
            client.close()
            raise
        finally:
            self._idle.put_nowait(client)
        if refused:
            raise _by_code(*_first(refused))

    async def close(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                # A QUIT that fails changes nothing: the connection is closed either way.
                with contextlib.suppress(SMTPException, OSError):
                    await client.quit()
            client.close()

    def _client(self) -> SMTP:
        c = self.config
        return SMTP(
            hostname=c.hostname,
            port=c.port,
            username=c.username,
            password=c.password,
            use_tls=c.use_tls,
            start_tls=c.start_tls,
            timeout=c.timeout,
        )

    async def _transaction(
        self, client: SMTP, message: bytes, sender: str, recipient: str
    ) -> dict[str, SMTPResponse]:
        fresh = not client.is_connected
        if fresh:
            await self._connect(client)
        envelope, needs_utf8 = envelope_address(recipient)
        try:
            options = await _options(client, envelope, needs_utf8)
            errors, _ = await client.sendmail(sender, [envelope], message, mail_options=options)
        except SMTPServerDisconnected:
            if fresh:
                raise
            # The server closed a connection that sat idle. Nothing was accepted on it, so one
            # more try on a new connection cannot send the message twice.
            await self._connect(client)
            options = await _options(client, envelope, needs_utf8)
            errors, _ = await client.sendmail(sender, [envelope], message, mail_options=options)
        return errors

    async def _connect(self, client: SMTP) -> None:
        client.close()
        try:
            await client.connect()
        except (SMTPException, OSError) as exc:
            client.close()
            # Whatever the code, a failure to connect, greet, start TLS or log in is about our
            # side or the relay, never about the recipient: always worth another try.
            raise TemporaryFailure(
                f"cannot connect to {self.config.hostname}:{self.config.port}: {exc}"
            ) from exc


def envelope_address(address: str) -> tuple[str, bool]:
    """The address as the envelope carries it, and whether it needs SMTPUTF8 (RFC 6531).

    An international domain goes out in its IDNA (ASCII) form, which every server takes; a
    local part beyond ASCII has no ASCII form, and only a server offering SMTPUTF8 takes it.
    """
    local, _, domain = address.rpartition("@")
    if not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise PermanentFailure(f"the domain of {address!r} is not a valid name: {exc}") from exc
    return f"{local}@{domain}", not local.isascii()


async def _options(client: SMTP, envelope: str, needs_utf8: bool) -> list[str]:
    if not needs_utf8:
        return []
    if client.last_ehlo_response is None:
        await client.ehlo()
    if not client.supports_extension("smtputf8"):
        raise PermanentFailure(
            f"{envelope!r} has letters beyond ASCII before the @, and the mail server does "
            "not offer SMTPUTF8, which such an address needs"
        )
    return ["SMTPUTF8"]


def _classified(exc: SMTPResponseException) -> Exception:
    if isinstance(exc, SMTPSenderRefused):
        # A refused envelope sender is our configuration, not the recipient's address.
        return TemporaryFailure(f"the server refused the sender: {exc.code} {exc.message}")
    return _by_code(exc.code, exc.message)


def _by_code(code: int, text: str) -> Exception:
    if 500 <= code < 600:
        return PermanentFailure(f"{code} {text}")
    return TemporaryFailure(f"{code} {text}")


def _first(refused: dict[str, SMTPResponse]) -> tuple[int, str]:
    response = next(iter(refused.values()))
    return response.code, response.message


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    if value in TRUE | FALSE:
        return value in TRUE
    raise ValueError(f"starttls must be true or false, not {value!r}")


def _limiter(rate: float) -> AsyncLimiter | None:
    """At most ``rate`` messages a second, with bursts of at most one second's worth."""
    if rate <= 0:
        return None
    burst = max(1.0, rate)
    return AsyncLimiter(burst, burst / rate)
