"""Mail transport from COLIS_EMAIL_URL: smtp://, smtp+tls:// (STARTTLS), smtp+ssl://, console://.

The worker keeps one SMTP connection per thread and reuses it from message to message; a message
counts as sent when the server accepted it. Failures are sorted for the outbox: a refused
recipient or a 5xx answer will never succeed (PermanentFailure); a connection that fails or a 4xx
answer may succeed later (TemporaryFailure).
"""

from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
import sys
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from urllib.parse import unquote, urlsplit

from django.conf import settings

from colis.core.outbox import PermanentFailure, TemporaryFailure

TIMEOUT_SECONDS = 20.0
_local = threading.local()


@dataclass(frozen=True, kw_only=True, slots=True)
class MailUrl:
    scheme: str
    host: str
    port: int
    user: str
    password: str


def message_id(idempotency_key: str) -> str:
    """The same outbox row always makes the same Message-ID, so a repeat is recognisable."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    domain = settings.EMAIL_MESSAGE_ID_DOMAIN or socket.getfqdn() or "colis.local"
    return f"<{digest}@{domain}>"


def email_build(
    *, sender_name: str, to: str, subject: str, text: str, key: str, html: str = ""
) -> EmailMessage:
    """A message from the shop (COLIS_EMAIL_FROM), with its Message-ID made from `key`."""
    message = EmailMessage()
    message["From"] = formataddr((sender_name, settings.EMAIL_FROM_ADDRESS))
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id(key)
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def mail_url(raw: str | None = None) -> MailUrl:
    parts = urlsplit(raw or settings.EMAIL_URL)
    scheme = parts.scheme or "console"
    default_port = {"smtp": 25, "smtp+tls": 587, "smtp+ssl": 465}.get(scheme, 0)
    if scheme not in ("smtp", "smtp+tls", "smtp+ssl", "console"):
        raise PermanentFailure(f"COLIS_EMAIL_URL has an unknown scheme {scheme!r}.")
    return MailUrl(
        scheme=scheme,
        host=parts.hostname or "localhost",
        port=parts.port or default_port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def _connect(url: MailUrl) -> smtplib.SMTP:
    if url.scheme == "smtp+ssl":
        conn: smtplib.SMTP = smtplib.SMTP_SSL(
            url.host, url.port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
        )
    else:
        conn = smtplib.SMTP(url.host, url.port, timeout=TIMEOUT_SECONDS)
        if url.scheme == "smtp+tls":
            conn.starttls(context=ssl.create_default_context())
    if url.user:
        conn.login(url.user, url.password)
    return conn


def _connection(url: MailUrl) -> smtplib.SMTP:
    conn = getattr(_local, "conn", None)
    if conn is not None and getattr(_local, "url", None) == url:
        return conn
    mail_close()
    conn = _connect(url)
    _local.conn, _local.url = conn, url
    return conn


def mail_close() -> None:
    conn = getattr(_local, "conn", None)
    _local.conn = None
    if conn is not None:
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()


def mail_send(message: EmailMessage) -> None:
    """Send one message. Raises PermanentFailure or TemporaryFailure."""
    url = mail_url()
    if url.scheme == "console":
        sys.stdout.write(message.as_string() + "\n")
        sys.stdout.flush()
        return
    for attempt in (1, 2):
        try:
            _connection(url).send_message(message)
            return
        except smtplib.SMTPServerDisconnected as exc:
            # A reused connection the server closed while idle: open a new one, once.
            mail_close()
            if attempt == 2:
                raise TemporaryFailure(f"The mail server closed the connection: {exc}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            mail_close()
            raise PermanentFailure(f"Recipient refused: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            mail_close()
            message_text = f"{exc.smtp_code} {exc.smtp_error!r}"
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(
                    f"The mail server refused the message: {message_text}"
                ) from exc
            raise TemporaryFailure(f"The mail server deferred the message: {message_text}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            mail_close()
            raise TemporaryFailure(f"The mail server is unreachable: {exc}") from exc
