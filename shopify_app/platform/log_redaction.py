"""Session tokens never reach a log: the dev server's request log and gunicorn's logs are scrubbed.

Every admin link carries the App Bridge session token as `id_token=<JWT>` (enough to act as
the merchant until it expires), and fetch calls carry it as `Authorization: Bearer`. Access logs
write request lines, query strings and referrers (which repeat the admin's URLs), so each line
is scrubbed before it is written, and credential headers are never written at all.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask
from gunicorn.glogging import Logger

REDACTED = "[redacted]"
#: `id_token=…` in a URL, also percent-encoded inside another parameter (`id_token%3D…`).
_TOKEN_PARAMETER = re.compile(r"(id_token(?:=|%3D))[^&\s\"'#%]+", re.IGNORECASE)
#: a JWT anywhere (header.payload.signature, base64url, the header starting `{"`).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)
#: gunicorn's atoms for credential headers (`%({name}i)s`) and their environ names (`{…}e`).
CREDENTIAL_ATOMS = frozenset(
    {
        "{authorization}i",
        "{proxy-authorization}i",
        "{cookie}i",
        "{http_authorization}e",
        "{http_proxy_authorization}e",
        "{http_cookie}e",
    }
)


def redact(text: str) -> str:
    """`text` with every session token (and bearer credential) replaced by [redacted]."""
    text = _TOKEN_PARAMETER.sub(rf"\1{REDACTED}", text)
    text = _BEARER.sub(rf"\1{REDACTED}", text)
    return _JWT.sub(REDACTED, text)


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactSessionTokens(logging.Filter):
    """Scrub a record's message and arguments (werkzeug passes the request line as one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: _redact_value(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_redact_value(value) for value in record.args)
        return True


def install_filter(logger: logging.Logger) -> None:
    """Add the filter once (apps are built many times in one process, as in tests)."""
    if not any(isinstance(f, RedactSessionTokens) for f in logger.filters):
        logger.addFilter(RedactSessionTokens())


class RedactingLogger(Logger):
    """gunicorn's logger (`logger_class` in gunicorn.conf.py): access log atoms scrubbed,
    credential headers written as "-", and the error log filtered like werkzeug's."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        install_filter(self.error_log)

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: "-" if key in CREDENTIAL_ATOMS else _redact_value(value)
            for key, value in atoms.items()
        }


def init_app(app: Flask) -> None:
    """The dev server (`flask run`, the tests' live server) logs each request on "werkzeug"."""
    install_filter(logging.getLogger("werkzeug"))
