"""``learnhub webhooks list|enable``: what an operator on the machine sees and can do."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from click.testing import CliRunner
from sqlalchemy import select

from service import db
from service.audit.models import AuditEvent
from service.staff.models import Role, StaffMember
from service.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.test_cli import invoke, runner

__all__ = ["runner"]
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def _endpoints(database_url: str) -> None:
    async def add() -> None:
        engine = db.create_engine(database_url)
        async with db.sessionmaker(engine).begin() as session:
            staff = StaffMember(
                email="a@nhs.net", role=Role.admin, token_hash="-" * 64, created_at=NOW
            )
            session.add(staff)
            await session.flush()
            fields = dict(event_types=["brief.published"], secret="whsec_" + "x" * 43,
                          created_at=NOW, created_by=staff.id)  # fmt: skip
            session.add_all([
                WebhookEndpoint(id=1, url="https://a.example/h", practitioner_trusted=True,
                                status="active", **fields),
                WebhookEndpoint(id=2, url="https://b.example/h", practitioner_trusted=False,
                                status="disabled", failing_since=NOW, **fields),
            ])  # fmt: skip
            await session.flush()
            session.add_all(
                WebhookDelivery(
                    endpoint_id=2,
                    event_id=n,
                    message_id=f"msg_{n}",
                    type="brief.published",
                    brief_id=uuid.UUID(int=n),
                    body="{}",
                    status=status,
                    attempts=1,
                    next_attempt_at=NOW,
                    created_at=NOW,
                )
                for n, status in enumerate(["failed", "failed", "pending"])
            )
        await engine.dispose()

    asyncio.run(add())


def test_list_and_enable(runner: CliRunner, database_url: str) -> None:
    _endpoints(database_url)
    listed = invoke(runner, "webhooks", "list")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines() == [
        "1\tactive\ttrusted\thttps://a.example/h\tbrief.published\tfailing since -\t"
        "pending 0\tfailed 0",
        "2\tdisabled\tpublic-only\thttps://b.example/h\tbrief.published\t"
        "failing since 2026-12-04T09:00:00+00:00\tpending 1\tfailed 2",
    ]
    enabled = invoke(runner, "webhooks", "enable", "2")
    assert (
        enabled.stdout == "Endpoint 2 (https://b.example/h) is enabled: the next events go to it.\n"
    )
    assert "2\tactive\t" in invoke(runner, "webhooks", "list").stdout
    unknown = invoke(runner, "webhooks", "enable", "9")
    assert unknown.exit_code == 1
    assert unknown.stderr == "learnhub: no webhook endpoint with id 9\n"


def test_enabling_from_the_command_line_is_in_the_audit_log(
    runner: CliRunner, database_url: str
) -> None:
    _endpoints(database_url)
    assert invoke(runner, "webhooks", "enable", "2").exit_code == 0

    async def logged() -> list[tuple[str, str, str, dict[str, object]]]:
        engine = db.create_engine(database_url)
        async with db.sessionmaker(engine)() as session:
            rows = await session.execute(
                select(
                    StaffMember.email, AuditEvent.action, AuditEvent.subject, AuditEvent.details
                ).join(StaffMember, StaffMember.id == AuditEvent.staff_id)
            )
            found = [(e, a, s, d) for e, a, s, d in rows]
        await engine.dispose()
        return found

    assert asyncio.run(logged()) == [
        (
            "command-line@learnhub.invalid",
            "webhook_enabled",
            "https://b.example/h",
            {"endpoint_id": 2, "was": "disabled"},
        )
    ]
