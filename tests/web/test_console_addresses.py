"""Suspended and complaining addresses in the console; an admin lifts a suspension (issue 22,
part 1)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from service.audit.models import AuditEvent
from service.mail.models import MailBounce, MailSuppression
from tests.conftest import Clock
from tests.smtp import SmtpServer
from tests.web.conftest import ADMIN, PUBLISHER, form_post, sign_in


async def test_admins_see_suspended_and_complaining_addresses_and_lift_a_suspension(
    web: TestClient, smtp_server: SmtpServer, staff: None, sessions: Any, clock: Clock
) -> None:
    async with sessions.begin() as session:
        session.add(
            MailSuppression(
                email="gone@nhs.net",
                consecutive_failures=3,
                suspended_at=clock(),
                last_error="5.1.1 smtp; 550 5.1.1 <gone@nhs.net>: User unknown",
            )
        )
        session.add(
            MailBounce(
                report="id:<r1@arf.mail.example>",
                email="cross@school.example",
                kind="complaint",
                reason="complaint (abuse) from Yahoo!-Mail-Feedback/2.0",
                received_at=clock(),
            )
        )
    await sign_in(web, smtp_server, ADMIN)
    page = await (await web.get("/staff/addresses")).text()
    assert "gone@nhs.net" in page and "3 failures in a row" in page and "User unknown" in page
    assert "cross@school.example" in page and "Complaint (abuse) from Yahoo" in page
    lifted = await form_post(
        web, "/staff/addresses", {"email": "gone@nhs.net"}, path="/staff/addresses/lift"
    )
    assert lifted.status == 303
    assert lifted.headers["Location"] == "/staff/addresses?done=lifted"
    after = await (await web.get("/staff/addresses?done=lifted")).text()
    assert "The suspension has been lifted" in after and "No address is suspended." in after
    async with sessions() as session:
        state = await session.get(MailSuppression, "gone@nhs.net")
        assert state is not None
        assert (state.suspended_at, state.consecutive_failures, state.lifted_at) == (
            None,
            0,
            clock(),
        )
        [event] = list(await session.scalars(select(AuditEvent)))
        assert (event.action, event.subject) == ("suspension_lifted", "gone@nhs.net")
    audit = await (await web.get("/staff/audit")).text()
    assert "Lifted the suspension of gone@nhs.net" in audit
    # Lifting what is not suspended is a 404.
    again = await form_post(
        web, "/staff/addresses", {"email": "gone@nhs.net"}, path="/staff/addresses/lift"
    )
    assert again.status == 404


async def test_only_admins_see_the_addresses(
    web: TestClient, smtp_server: SmtpServer, staff: None
) -> None:
    assert (await web.get("/staff/addresses", allow_redirects=False)).status == 303
    await sign_in(web, smtp_server, PUBLISHER)
    assert (await web.get("/staff/addresses")).status == 403
