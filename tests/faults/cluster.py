"""Real ``learnhub serve`` processes on a database of their own, and what the tests do to them.

Each instance is a process (and its fan-out helper) in a session of its own, logging to a
file; its envelope sender names it (``a@learnhub.test``), so that the SMTP sink can tell
which instance sent each message.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from service import db
from service.events.listener import LISTEN
from service.mail.models import MailMessage
from tests import factories
from tests.briefs_data import brief_body
from tests.smtp import SmtpServer, free_port
from tests.waiting import until

BIN = Path(sys.executable).parent
SINCE = datetime(2026, 11, 1, tzinfo=UTC)


def learnhub(*args: str, env: dict[str, str], cwd: Path) -> str:
    """Run a ``learnhub`` command to its end; its standard output."""
    done = subprocess.run(  # noqa: S603  # our own command, with arguments we chose
        [str(BIN / "learnhub"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode:
        raise AssertionError(f"learnhub {' '.join(args)}: {done.stderr}")
    return done.stdout


@dataclass
class Instance:
    name: str
    env: dict[str, str]
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def envelope(self) -> str:
        return f"{self.name}@learnhub.test"

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self) -> None:
        env = {
            **self.env,
            "LEARNHUB_BASE_URL": self.url,
            "LEARNHUB_MAIL_FROM": f"Learning Hub <{self.envelope}>",
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603  # our own command
                [str(BIN / "learnhub"), "serve", "--port", str(self.port)],
                env=env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: the fan-out helper goes with it
            )

    async def ready(self, within: float = 30) -> None:
        async def answers() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                async with aiohttp.ClientSession() as http, http.get(self.url + "/readyz") as r:
                    return r.status == 200
            except aiohttp.ClientError:
                return False

        await until(answers, within=within, what=f"instance {self.name} ready", step=0.1)

    def kill(self) -> None:
        """SIGKILL, as the kernel's OOM killer or a pulled plug would: no cleanup at all."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM and a moment to stop gracefully; then whatever is left of its group goes."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # the group we started, by its id

    def lines(self, words: str) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if words in line]


@dataclass
class Cluster:
    """Instances on one fresh database, an SMTP sink, and a staff token to publish with."""

    engine: AsyncEngine
    sink: SmtpServer
    env: dict[str, str]
    workdir: Path
    instances: list[Instance] = field(default_factory=list)
    _token: str | None = None

    async def start(self, *names: str) -> list[Instance]:
        started = [Instance(name, self.env, self.workdir) for name in names]
        for instance in started:
            instance.start()
        self.instances += started
        await asyncio.gather(*(instance.ready() for instance in started))
        return started

    def stop(self) -> None:
        for instance in self.instances:
            instance.stop()

    async def subscribers(self, count: int) -> list[str]:
        """``count`` confirmed immediate subscribers, filters left open: every brief is theirs."""
        emails = [f"reader{n}@example.org" for n in range(count)]
        async with db.sessionmaker(self.engine).begin() as session:
            for email in emails:
                await factories.person(session, email, "immediate", since=SINCE)
        return emails

    def token(self) -> str:
        if self._token is None:
            out = learnhub(
                "staff",
                "add",
                "faults@merseyside.police.uk",
                "--role",
                "publisher",
                env=self.env,
                cwd=self.workdir,
            )
            self._token = out.strip().splitlines()[-1]
        return self._token

    async def publish(self, instance: Instance, title: str) -> str:
        """Write a brief and publish it through ``instance``'s API; its id."""
        headers = {"Authorization": f"Bearer {self.token()}"}
        async with aiohttp.ClientSession(instance.url, headers=headers) as http:
            async with http.post("/api/v1/briefs", json=brief_body(title=title)) as response:
                assert response.status == 201, await response.text()
                brief = str((await response.json())["id"])
            async with http.post(f"/api/v1/briefs/{brief}/publish") as response:
                assert response.status == 200, await response.text()
        return brief

    def delivered(self) -> Counter[str]:
        """How many times each recipient has been sent a message."""
        return Counter(self.sink.recipients())

    def senders(self) -> Counter[str]:
        """How many messages each instance has sent, by its envelope sender."""
        return Counter(m.sender for m in list(self.sink.messages))

    async def statuses(self) -> dict[str, int]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                select(MailMessage.status, func.count()).group_by(MailMessage.status)
            )
            return {status: count for status, count in rows}

    async def all_sent(self, count: int) -> bool:
        return await self.statuses() == {"sent": count}

    async def sending(self) -> set[str]:
        """The recipients of the messages held under a lease now."""
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                select(MailMessage.recipient).where(MailMessage.status == "sending")
            )
            return set(rows.scalars())

    async def listening(self) -> set[int]:
        """The backends that LISTEN for events on this database."""
        query = text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND query = :listen AND pid <> pg_backend_pid()"
        )
        async with self.engine.connect() as connection:
            return set((await connection.execute(query, {"listen": LISTEN})).scalars())

    async def terminate(self, pid: int) -> None:
        async with self.engine.connect() as connection:
            ended = await connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert ended, f"backend {pid} was not terminated"


def environment(database_url: str, smtp_url: str, workdir: Path) -> dict[str, str]:
    """The environment of every instance and command: only our settings, no .env file."""
    env: dict[str, Any] = {k: v for k, v in os.environ.items() if not k.startswith("LEARNHUB_")}
    env.update(
        LEARNHUB_DATABASE_URL=database_url,
        LEARNHUB_SMTP_URL=smtp_url,
        LEARNHUB_SECRET_KEY="faults-shared-secret-key-0123456789",  # noqa: S106  # a test's
        LEARNHUB_MAILDIR=str(workdir / "mail"),
    )
    return env
