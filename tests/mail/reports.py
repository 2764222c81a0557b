"""Bounces and complaints as real mail servers and mailbox providers write them, made with
the email package: a Postfix DSN (RFC 3464), an Exim bounce without a DSN, and abuse reports
in the Abuse Reporting Format (RFC 5965) as Yahoo and Microsoft send them."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid

WHEN = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)


def _block(**fields: str) -> Message:
    block = Message()
    for name, value in fields.items():
        block[name.replace("_", "-")] = value
    return block


def postfix_dsn(
    recipient: str,
    *,
    envelope_to: str,
    original: bytes | None = None,
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str | None = None,
    message_id: str | None = None,
) -> bytes:
    """A Postfix bounce: multipart/report with the notification, the delivery status and the
    original's headers (with the Return-Path the receiving MTA wrote)."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["Return-Path"] = "<>"
    report["Delivered-To"] = envelope_to
    report["Date"] = format_datetime(WHEN)
    report["From"] = "MAILER-DAEMON@mx1.nhs.example (Mail Delivery System)"
    report["Subject"] = (
        "Undelivered Mail Returned to Sender" if action == "failed" else "Delayed Mail"
    )
    report["To"] = envelope_to
    report["Auto-Submitted"] = "auto-replied"
    report["Message-ID"] = message_id or make_msgid(domain="mx1.nhs.example")
    notification = MIMEText(
        "This is the mail system at host mx1.nhs.example.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.\n\n"
        "                   The mail system\n\n"
        f"<{recipient}>: host mail.nhs.example[192.0.2.25] said: "
        f"{diagnostic or '550 5.1.1 User unknown'}\n"
    )
    notification["Content-Description"] = "Notification"
    report.attach(notification)
    status_part = MIMEBase("message", "delivery-status")
    status_part["Content-Description"] = "Delivery report"
    status_part.set_payload(
        [
            _block(
                Reporting_MTA="dns; mx1.nhs.example",
                X_Postfix_Queue_ID="4XyZ1234Ab",
                X_Postfix_Sender="rfc822; " + envelope_to,
                Arrival_Date=format_datetime(WHEN),
            ),
            _block(
                Final_Recipient=f"rfc822; {recipient}",
                Original_Recipient=f"rfc822;{recipient}",
                Action=action,
                Status=status,
                Remote_MTA="dns; mail.nhs.example",
                Diagnostic_Code="smtp; "
                + (
                    diagnostic
                    or f"550 {status} <{recipient}>: "
                    "Recipient address rejected: User unknown in virtual mailbox table"
                ),
            ),
        ]
    )
    report.attach(status_part)
    headers = (
        original
        or (
            f"Return-Path: <{envelope_to}>\nFrom: learning@learnhub.example\nTo: {recipient}\n"
            "Subject: New learning brief\n"
        ).encode()
    )
    head = headers.split(b"\r\n\r\n")[0].split(b"\n\n")[0].decode().replace("\r\n", "\n")
    if not head.startswith("Return-Path"):
        head = f"Return-Path: <{envelope_to}>\n" + head
    enclosed = MIMEText(head + "\n", "rfc822-headers")
    enclosed["Content-Description"] = "Undelivered Message Headers"
    report.attach(enclosed)
    return report.as_bytes()


def exim_bounce(recipient: str, *, envelope_to: str) -> bytes:
    """Exim's own bounce, without a DSN: the failed address in X-Failed-Recipients."""
    bounce = MIMEText(
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"  {recipient}\n    mailbox is full\n"
    )
    bounce["Return-path"] = "<>"
    bounce["Envelope-to"] = envelope_to
    bounce["X-Failed-Recipients"] = recipient
    bounce["Auto-Submitted"] = "auto-replied"
    bounce["From"] = "Mail Delivery System <Mailer-Daemon@mail.school.example>"
    bounce["To"] = envelope_to
    bounce["Subject"] = "Mail delivery failed: returning message to sender"
    bounce["Message-Id"] = make_msgid(domain="mail.school.example")
    bounce["Date"] = format_datetime(WHEN)
    return bounce.as_bytes()


def arf(
    *,
    original_mail_from: str,
    recipient: str | None,
    feedback_type: str = "abuse",
    agent: str = "Yahoo!-Mail-Feedback/2.0",
    to: str = "fbl@learnhub.example",
    redacted: bool = False,
) -> bytes:
    """An abuse report (RFC 5965): a human-readable part, the machine-readable report and the
    original message. ``redacted``: the recipient is left out, as some providers do."""
    report = MIMEMultipart("report", report_type="feedback-report")
    report["From"] = "<feedback@arf.mail.example>"
    report["To"] = to
    report["Date"] = format_datetime(WHEN)
    report["Subject"] = "FW: New learning brief"
    report["Message-ID"] = make_msgid(domain="arf.mail.example")
    report.attach(MIMEText("This is an email abuse report for an email message received\n"))
    fields = {
        "Feedback_Type": feedback_type,
        "User_Agent": agent,
        "Version": "1",
        "Original_Mail_From": f"<{original_mail_from}>",
        "Arrival_Date": format_datetime(WHEN),
        "Reported_Domain": "learnhub.example",
        "Source_IP": "192.0.2.10",
    }
    if recipient and not redacted:
        fields["Original_Rcpt_To"] = f"<{recipient}>"
    feedback = MIMEBase("message", "feedback-report")
    feedback.set_payload([_block(**fields)])
    report.attach(feedback)
    original = MIMEText("A new learning brief.\n")
    original["Return-Path"] = f"<{original_mail_from}>"
    original["From"] = "learning@learnhub.example"
    original["To"] = "redacted@mail.example" if redacted or not recipient else recipient
    original["Subject"] = "New learning brief"
    report.attach(MIMEMessage(original))
    return report.as_bytes()
