"""The SMTP transport: safe headers, one connection per sender thread, failures in plain words.

Headers are built from customer data (names come from CSV imports and may hold line breaks),
so every display name is flattened to one line and every address checked before it reaches a
header: a bad value fails its own email, never the job. Connecting retries through the one
retry helper with bounded timeouts, so a server that is down is known within seconds.
"""

from __future__ import annotations

import io
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.charset import Charset
from email.generator import BytesGenerator
from email.message import Message
from email.policy import SMTPUTF8, compat32
from email.utils import quote
from urllib.parse import unquote, urlsplit

from shopify_app.platform.retry import RetryPolicy, retry_call

#: connecting gives up after three tries (about 0.75 s of waiting plus the timeouts).
CONNECT_RETRY = RetryPolicy(attempts=3, first_delay=0.25, max_delay=1.0)
#: control characters (and Unicode line separators) that would end a header line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
#: characters that are never part of a plain address we send to.
_ADDRESS_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f<>()\[\],;:\\\"]")
_UTF8 = Charset("utf-8")
_ASCII_POLICY = compat32.clone(linesep="\r\n")
_UTF8_POLICY = SMTPUTF8.clone(linesep="\r\n")

UNREACHABLE = "The mail server could not be reached, so nothing was sent. Resend once it is back."
SIGN_IN_REFUSED = "The mail server refused the app's sign-in. Check the mail settings, then resend."
TLS_FAILED = "A secure connection to the mail server failed. Check the mail settings, then resend."
INVALID_ADDRESS = "This email address is not valid."
INTERNATIONAL_REFUSED = (
    "This address has international characters, which the mail server does not accept."
)
UNEXPECTED = "This invitation could not be sent because of an unexpected error (it was logged)."


class InvalidAddress(ValueError):
    """An address that cannot be put in a header or an SMTP envelope."""


class MailServerUnavailable(Exception):
    """No connection could be opened (down, refused, sign-in refused): every email would fail."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class OutgoingEmail:
    """An email serialised before sending, so a header problem is found while building it."""

    sender: str
    recipient: str
    data: bytes
    #: the recipient has a non-ASCII local part: it needs the server's SMTPUTF8.
    utf8: bool


@dataclass(frozen=True)
class Failure:
    """Why an email did not go out, in words a merchant can act on."""

    reason: str
    permanent: bool


def one_line(text: str | None) -> str:
    """The text on a single line: control characters become spaces, runs of space collapse."""
    return " ".join(_CONTROL.sub(" ", text or "").split())


def checked_address(address: str | None) -> str:
    """The address ready for a header and the envelope (IDNA domain); raises InvalidAddress."""
    address = (address or "").strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or "@" in local or _ADDRESS_FORBIDDEN.search(address):
        raise InvalidAddress(address)
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as error:
            raise InvalidAddress(address) from error
    if "." not in domain or domain.startswith(".") or domain.endswith("."):
        raise InvalidAddress(address)
    return f"{local}@{domain}"


def address_header(name: str | None, address: str) -> str:
    """`Name <address>` with the name on one line, quoted or RFC 2047-encoded as needed."""
    display = one_line(name)
    if not display:
        return address
    if display.isascii():
        return f"{quote_display(display)} <{address}>"
    return f"{_UTF8.header_encode(display)} <{address}>"


def quote_display(display: str) -> str:
    if re.search(r"[][\\()<>@,:;\".]", display):
        return f'"{quote(display)}"'
    return display


def serialise(message: Message, *, utf8: bool) -> bytes:
    """The message as SMTP sends it (CRLF); UTF-8 headers only for an SMTPUTF8 recipient."""
    buffer = io.BytesIO()
    BytesGenerator(buffer, policy=_UTF8_POLICY if utf8 else _ASCII_POLICY).flatten(message)
    return buffer.getvalue()


class Mailer:
    """One SMTP connection, opened on first use and reopened after the server drops it.

    Not thread-safe: each sender thread has its own.
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps", "smtp+starttls"}:
            raise ValueError(f"SMTP_URL must be smtp://, smtps:// or smtp+starttls://: {url!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self.connection: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        if self.scheme == "smtps":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def _connect(self) -> smtplib.SMTP:
        """Open, secure and sign in; raises MailServerUnavailable with the merchant's reason."""
        try:
            connection = retry_call(
                self._open,
                retry_on=(OSError, smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected),
                policy=CONNECT_RETRY,
            )
        except smtplib.SMTPConnectError as error:
            if 400 <= error.smtp_code < 500:
                raise  # there but busy ("421 too many connections"): this email, later
            raise MailServerUnavailable(UNREACHABLE) from error
        except (OSError, smtplib.SMTPException) as error:
            raise MailServerUnavailable(UNREACHABLE) from error
        try:
            if self.scheme == "smtp+starttls":
                connection.starttls(context=ssl.create_default_context())
            if self.username:
                connection.login(self.username, self.password or "")
        except smtplib.SMTPAuthenticationError as error:
            _close_quietly(connection)
            raise MailServerUnavailable(SIGN_IN_REFUSED) from error
        except (OSError, smtplib.SMTPException) as error:
            _close_quietly(connection)
            raise MailServerUnavailable(TLS_FAILED) from error
        return connection

    def send(self, email: OutgoingEmail) -> None:
        if self.connection is None:
            self.connection = self._connect()
        connection = self.connection
        options: list[str] = []
        if email.utf8:
            connection.ehlo_or_helo_if_needed()
            if not connection.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError("SMTPUTF8 not offered")
            options = ["SMTPUTF8", *(["BODY=8BITMIME"] if connection.has_extn("8bitmime") else [])]
        try:
            connection.sendmail(email.sender, [email.recipient], email.data, mail_options=options)
        except smtplib.SMTPServerDisconnected:
            self.connection = None
            raise

    def close(self) -> None:
        if self.connection is not None:
            _close_quietly(self.connection)
            self.connection = None


def _close_quietly(connection: smtplib.SMTP) -> None:
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()


def describe_failure(error: BaseException) -> Failure:
    """The merchant's words for a failed send, and whether trying again later can help.

    Server replies are quoted (their code and text say what the server wants); exception
    names and Python's messages never are.
    """
    if isinstance(error, MailServerUnavailable):
        return Failure(error.reason, permanent=True)
    if isinstance(error, InvalidAddress):
        return Failure(INVALID_ADDRESS, permanent=True)
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return Failure(INTERNATIONAL_REFUSED, permanent=True)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = list(error.recipients.values())
        code, text = answers[0] if answers else (0, b"")
        if answers and all(c >= 500 for c, _ in answers):
            return Failure(f"The recipient's address was refused ({_reply(code, text)}).", True)
        return Failure(f"The mail server asked to try again later ({_reply(code, text)}).", False)
    if isinstance(error, smtplib.SMTPSenderRefused):
        reply = _reply(error.smtp_code, error.smtp_error)
        return Failure(
            f"The mail server refused the sender address ({reply}).", error.smtp_code >= 500
        )
    if isinstance(error, smtplib.SMTPResponseException):
        reply = _reply(error.smtp_code, error.smtp_error)
        if error.smtp_code >= 500:
            return Failure(f"The mail server refused this email ({reply}).", permanent=True)
        return Failure(f"The mail server asked to try again later ({reply}).", permanent=False)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return Failure("The mail server closed the connection; it will be retried.", False)
    if isinstance(error, (socket.timeout, TimeoutError)):
        return Failure("The mail server did not answer in time; it will be retried.", False)
    if isinstance(error, OSError):
        return Failure("The connection to the mail server broke; it will be retried.", False)
    return Failure(UNEXPECTED, permanent=True)


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return one_line(f"{code} {message}")[:200]
