"""The one settings model: every LEARNHUB_ variable of the contract, read once."""

from __future__ import annotations

import os
import re
import secrets
from datetime import date, time
from email.utils import parseaddr
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_SPACE = re.compile(r"[\s<>\"(),;:]")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SECRET_KEY_FILE = Path("var/secret_key")


class Settings(BaseSettings):
    """Configuration from LEARNHUB_* environment variables and a .env file."""

    model_config = SettingsConfigDict(env_prefix="LEARNHUB_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/learnhub.db"
    base_url: str = "http://127.0.0.1:8080"
    secret_key: SecretStr | None = None
    smtp_url: SecretStr | None = None
    maildir: Path = Path("var/mail")
    mail_from: str = "Learning Hub <learning@localhost>"
    mail_concurrency: int = Field(default=4, ge=1, le=64)
    mail_rate: float = Field(default=0, ge=0)
    timezone: str = "Europe/London"
    daily_digest_time: time = time(7, 30)
    weekly_digest_day: Weekday = "mon"
    practitioner_domains: Annotated[tuple[str, ...], NoDecode] = ()
    # Where request counts for abuse limits live: per process by default; a shared store
    # such as redis://127.0.0.1:6379 makes the limits hold across several instances.
    rate_limit_storage: str = "memory://"
    # The reverse proxies in front (addresses or networks): their X-Forwarded-For then names
    # the client, for the abuse limits. Other peers' X-Forwarded-For is ignored.
    trusted_proxies: Annotated[tuple[IPv4Network | IPv6Network, ...], NoDecode] = ()
    # Who may read /metrics: with a token, whoever sends it as a bearer token; without one,
    # only a scraper on this machine talking to the service directly (no proxy in between).
    metrics_token: SecretStr | None = None
    # Who runs the service, for the privacy notice, the accessibility statement and the
    # contact page (handlers/about.py). The email defaults to the From address's.
    organisation_name: str = "Merseyside Police Public Protection Unit"
    organisation_email: str | None = None
    organisation_phone: str = ""
    organisation_address: str = ""
    dpo_email: str | None = None  # the data protection officer; default: organisation_email
    accessibility_tested_on: date = date(2026, 12, 4)
    # Webhooks may go to loopback, private and link-local addresses: for tests and closed
    # networks only (server-side request forgery, service/webhooks/addresses.py).
    webhooks_allow_private: bool = False
    # Where bounces come back: each message's envelope sender is this address with a token
    # after a '+' (bounces+m123-k7f2q9xa@…, service.mail.verp). Unset: the From address,
    # as before, and bounces can be mapped to their messages only by their addresses.
    bounce_address: str | None = None
    # A Maildir the MTA delivers bounces and complaints into; serve reads it every minute.
    bounce_maildir: Path | None = None
    # How long delivery records keep the recipient's address (the board's evidence period);
    # then they are anonymised (practice.retention).
    evidence_years: int = Field(default=6, ge=1, le=100)

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        parts = urlsplit(value)
        local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not local:
            # Links in emails, one-click unsubscribe (RFC 8058) above all, need https.
            raise ValueError("must start with https:// (http:// only for 127.0.0.1 or localhost)")
        return value.rstrip("/")

    @field_validator("bounce_address")
    @classmethod
    def _plain_bounce_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        local, at, domain = value.rpartition("@")
        if not at or not local or "." not in domain or "+" in local or _SPACE.search(value):
            raise ValueError("must be a plain address such as bounces@example.org, without '+'")
        return value

    @field_validator("database_url")
    @classmethod
    def _a_file_for_sqlite(cls, value: str) -> str:
        # Every connection to an in-memory database would open an empty database of its own.
        if value.startswith("sqlite") and urlsplit(value).path.lstrip("/") in ("", ":memory:"):
            raise ValueError("SQLite needs a file (sqlite+aiosqlite:///path/to.db), not memory")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("weekly_digest_day", mode="before")
    @classmethod
    def _lower_day(cls, value: object) -> object:
        return value.strip().lower()[:3] if isinstance(value, str) else value

    @field_validator("practitioner_domains", mode="before")
    @classmethod
    def _split_domains(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return tuple(d.strip().lower().lstrip("@.") for d in value if d.strip())
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(ip_network(n.strip()) for n in value.split(",") if n.strip())
        return value

    @property
    def contact_email(self) -> str:
        return self.organisation_email or parseaddr(self.mail_from)[1]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def signing_key(self) -> str:
        """The secret key, generated into var/secret_key (mode 0600) on first use when unset."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return _file_secret(SECRET_KEY_FILE)


def _file_secret(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: if two processes start at once, exactly one writes and both read its key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
