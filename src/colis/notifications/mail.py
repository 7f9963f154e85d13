"""Mail transport from COLIS_EMAIL_URL: smtp://, smtp+tls:// (STARTTLS), smtp+ssl://, console://.

The worker keeps one SMTP connection per thread and reuses it from message to message; a message
counts as sent when the server accepted it. Failures are sorted for the outbox: a refused
recipient or a 5xx answer will never succeed (PermanentFailure); a connection that fails or a 4xx
answer may succeed later (TemporaryFailure).
"""

from __future__ import annotations

import binascii
import hashlib
import smtplib
import socket
import ssl
import sys
import threading
import time
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr
from functools import cache
from urllib.parse import unquote, urlsplit

from django.conf import settings

from colis.core.models import Shop
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
    return f"<{digest}@{settings.EMAIL_MESSAGE_ID_DOMAIN or _host_name()}>"


@cache
def _host_name() -> str:
    return socket.getfqdn() or "colis.local"


@dataclass(frozen=True, kw_only=True, slots=True)
class Sender:
    name: str
    address: str
    reply_to: str = ""


def shop_sender(shop: Shop) -> Sender:
    """Who buyer emails come from: the shop's sender settings, else its name and
    COLIS_EMAIL_FROM."""
    return Sender(
        name=shop.email_sender_name or shop.name,
        address=shop.email_sender_address or settings.EMAIL_FROM_ADDRESS,
        reply_to=shop.email_reply_to,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class OutgoingEmail:
    """A message ready for the wire: its envelope and its bytes (CRLF line ends)."""

    sender: str
    recipient: str
    data: bytes


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _header(value: str) -> str:
    value = _one_line(value)
    return value if value.isascii() else Header(value, "utf-8").encode(linesep="\r\n")


def _from(sender: Sender) -> str:
    name = _one_line(sender.name)
    if name.isascii():
        return formataddr((name, sender.address))
    # Folded into encoded words of at most 75 characters, like the subject.
    return f"{_header(name)}\r\n <{sender.address}>"


def _part(text: str, subtype: str) -> bytes:
    """One text part, UTF-8, quoted-printable (lines of at most 76 characters)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # no bare CR reaches the wire
    body = binascii.b2a_qp(text.encode(), istext=True, header=False)
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode() + body.replace(b"\n", b"\r\n")


def email_build(
    *, sender: Sender, to: str, subject: str, text: str, key: str, html: str = ""
) -> OutgoingEmail:
    """A message from `sender`, with its Message-ID made from `key`: a text part, and an HTML
    alternative when given. Header values are kept to one line each."""
    mid = message_id(key)
    to = _one_line(to)
    headers = [
        f"From: {_from(sender)}",
        f"To: {to}",
        *([f"Reply-To: {_one_line(sender.reply_to)}"] if sender.reply_to else []),
        f"Subject: {_header(subject)}",
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: {mid}",
        "MIME-Version: 1.0",
    ]
    if html:
        boundary = f"=_{mid[1:41]}"
        kind = f'Content-Type: multipart/alternative; boundary="{boundary}"'
        head = "\r\n".join([*headers, kind])
        sep = f"\r\n--{boundary}\r\n".encode()
        data = (
            head.encode() + b"\r\n" + sep + _part(text, "plain") + sep + _part(html, "html")
            + f"\r\n--{boundary}--\r\n".encode()
        )  # fmt: skip
    else:
        data = "\r\n".join(headers).encode() + b"\r\n" + _part(text, "plain") + b"\r\n"
    return OutgoingEmail(sender=sender.address, recipient=parseaddr(to)[1] or to, data=data)


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


IDLE_CHECK_SECONDS = 5.0


def _connection(url: MailUrl) -> smtplib.SMTP:
    """This thread's connection; one idle for a while is checked (NOOP) before it is trusted,
    as servers close idle connections."""
    conn = getattr(_local, "conn", None)
    if conn is not None and getattr(_local, "url", None) == url:
        if time.monotonic() - getattr(_local, "used", 0.0) < IDLE_CHECK_SECONDS:
            return conn
        try:
            if conn.noop()[0] == 250:
                return conn
        except (smtplib.SMTPException, OSError):
            pass
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


def mail_send(message: OutgoingEmail) -> None:
    """Send one message. Raises PermanentFailure or TemporaryFailure."""
    url = mail_url()
    if url.scheme == "console":
        sys.stdout.write(message.data.decode("ascii", "replace").replace("\r\n", "\n") + "\n")
        sys.stdout.flush()
        return
    sender, recipient = message.sender, message.recipient
    if not recipient.isascii() or not sender.isascii():
        raise PermanentFailure(f"The address {recipient!r} cannot be sent to without SMTPUTF8.")
    try:
        conn = _connection(url)
    except (OSError, smtplib.SMTPException) as exc:
        # Connecting, greeting, TLS or login failed: every message waits, none is failed.
        mail_close()
        raise TemporaryFailure(
            f"The mail server is unreachable or refused the login: {exc}",
            transport_down=True,
        ) from exc
    try:
        conn.sendmail(sender, [recipient], message.data)
        _local.used = time.monotonic()
    except smtplib.SMTPSenderRefused as exc:
        # The shop's sender address is not accepted: true of every message until it is fixed.
        mail_close()
        raise TemporaryFailure(
            f"The mail server refused the sender {sender}: {exc.smtp_code} {exc.smtp_error!r}",
            transport_down=True,
        ) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        # The connection stays usable (smtplib reset the transaction).
        _local.used = time.monotonic()
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(400 <= code < 500 for code in codes):
            raise TemporaryFailure(f"Recipient deferred: {exc.recipients}") from exc
        raise PermanentFailure(f"Recipient refused: {exc.recipients}") from exc
    except smtplib.SMTPResponseException as exc:
        mail_close()
        message_text = f"{exc.smtp_code} {exc.smtp_error!r}"
        if 500 <= exc.smtp_code < 600:
            raise PermanentFailure(f"The mail server refused the message: {message_text}") from exc
        # 421: the server is closing the channel (going down, overloaded): the rest waits too.
        raise TemporaryFailure(
            f"The mail server deferred the message: {message_text}",
            transport_down=exc.smtp_code == 421,
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        # Never sent again at once: the server may have taken it before the line dropped.
        mail_close()
        raise TemporaryFailure(
            f"The mail server is unreachable: {exc}", transport_down=True
        ) from exc
