"""Both senders implement the Protocol and really deliver; SMTP replies map to the failures."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from service.mail.compose import Composer
from service.mail.senders import (
    MaildirSender,
    PermanentFailure,
    Sender,
    SmtpSender,
    TemporaryFailure,
    sender_from_settings,
)
from service.mail.smtp import SmtpConfig
from service.settings import Settings
from tests.smtp import SmtpServer, free_port

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CONTEXT = {
    "subject": "Was not brought",
    "heading": "Child A",
    "paragraphs": ["Missed appointments."],
}
FROM = "learning@localhost"


def message(composer: Composer, recipient: str = "reader@example.org") -> bytes:
    return composer.compose("test", recipient, CONTEXT, now=NOW).message


def test_both_senders_implement_the_protocol(tmp_path: Path) -> None:
    senders: list[Sender] = [MaildirSender(tmp_path), SmtpSender.from_url("smtp://127.0.0.1:1")]
    assert all(isinstance(sender, Sender) for sender in senders)


def test_the_settings_choose_the_sender(settings: Settings) -> None:
    assert isinstance(sender_from_settings(settings), MaildirSender)
    smtp = settings.model_copy(update={"smtp_url": SecretStr("smtp://u:p%40ss@mail.example:2525")})
    sender = sender_from_settings(smtp)
    assert isinstance(sender, SmtpSender)
    assert sender.config == SmtpConfig("mail.example", 2525, "u", "p@ss")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example", SmtpConfig("mail.example", 25)),
        (
            "smtp://user:secret@mail.example?starttls=true",
            SmtpConfig("mail.example", 587, "user", "secret", start_tls=True),
        ),
        ("smtp://mail.example:25?starttls=false", SmtpConfig("mail.example", 25, start_tls=False)),
        ("smtps://mail.example", SmtpConfig("mail.example", 465, use_tls=True)),
        (
            "smtps://mail.example:2465?timeout=5",
            SmtpConfig("mail.example", 2465, use_tls=True, timeout=5),
        ),
    ],
)
def test_smtp_urls(url: str, expected: SmtpConfig) -> None:
    assert SmtpConfig.from_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://mail.example",
        "smtp://",
        "smtps://mail.example?starttls=true",
        "smtp://h?starttls=maybe",
    ],
)
def test_bad_smtp_urls(url: str) -> None:
    with pytest.raises(ValueError):
        SmtpConfig.from_url(url)


async def test_smtp_delivers_and_reuses_its_connections(
    smtp_server: SmtpServer, smtp_sender: SmtpSender, composer: Composer
) -> None:
    for n in range(6):
        await smtp_sender.send(message(composer), sender=FROM, recipient=f"r{n}@example.org")
    received = await smtp_server.received(6)
    assert [m.recipients for m in received] == [(f"r{n}@example.org",) for n in range(6)]
    assert received[0].sender == FROM
    assert received[0].parsed()["Subject"] == "Was not brought"


async def test_maildir_delivers_files_a_mail_client_can_read(
    tmp_path: Path, composer: Composer
) -> None:
    sender = MaildirSender(tmp_path / "var" / "mail")
    await sender.send(message(composer), sender=FROM, recipient="reader@example.org")
    await sender.send(
        message(composer, "other@example.org"), sender=FROM, recipient="other@example.org"
    )
    await sender.close()

    box = mailbox.Maildir(tmp_path / "var" / "mail", create=False)
    letters = sorted(box, key=lambda m: str(m["To"]))
    assert [m["To"] for m in letters] == ["other@example.org", "reader@example.org"]
    assert letters[1]["Delivered-To"] == "reader@example.org"
    assert letters[1]["Subject"] == "Was not brought"
    assert letters[1].is_multipart()


async def test_a_4xx_is_temporary(
    smtp_server: SmtpServer, smtp_sender: SmtpSender, composer: Composer
) -> None:
    smtp_server.answer_rcpt("451 4.7.1 Greylisted, try again later")
    with pytest.raises(TemporaryFailure, match="451"):
        await smtp_sender.send(message(composer), sender=FROM, recipient="reader@example.org")
    smtp_server.answer_data("452 4.3.1 Insufficient system storage")
    with pytest.raises(TemporaryFailure, match="452"):
        await smtp_sender.send(message(composer), sender=FROM, recipient="reader@example.org")
    # The same pooled connections carry on afterwards.
    await smtp_sender.send(message(composer), sender=FROM, recipient="reader@example.org")
    assert len(await smtp_server.received(1)) == 1


async def test_a_5xx_is_permanent(
    smtp_server: SmtpServer, smtp_sender: SmtpSender, composer: Composer
) -> None:
    smtp_server.refuse("gone@example.org")
    with pytest.raises(PermanentFailure, match="550"):
        await smtp_sender.send(message(composer), sender=FROM, recipient="gone@example.org")
    smtp_server.answer_data("554 5.7.1 Rejected as spam")
    with pytest.raises(PermanentFailure, match="554"):
        await smtp_sender.send(message(composer), sender=FROM, recipient="reader@example.org")
    assert smtp_server.messages == []


async def test_no_server_is_temporary(composer: Composer) -> None:
    sender = SmtpSender.from_url(f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(TemporaryFailure, match="cannot connect"):
        await sender.send(message(composer), sender=FROM, recipient="reader@example.org")
    await sender.close()


async def test_connections_closed_by_a_restart_are_reopened(
    smtp_server: SmtpServer, composer: Composer
) -> None:
    sender = SmtpSender.from_url(smtp_server.url, concurrency=1)
    await sender.send(message(composer), sender=FROM, recipient="before@example.org")
    smtp_server.stop()
    smtp_server.start()
    await sender.send(message(composer), sender=FROM, recipient="after@example.org")
    await sender.close()
    assert smtp_server.recipients() == ["before@example.org", "after@example.org"]
