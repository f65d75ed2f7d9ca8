"""A local SMTP sink for the demo: every email the app sends is kept as an `.eml` file.

The demo has no mail server, so without this invitations would go nowhere; `bin/run` starts
it and points `SMTP_URL` at it, and the admin's "Caught emails" page (demo mode only) reads
the same folder, so a newcomer sees an invitation arrive. It offers SMTPUTF8 like modern
servers do. aiosmtpd is used here, outside `shopify_app`, which never imports it.

    python -m demo.mail_sink --port 1025 --dir instance/mail
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MailSink:
    """An aiosmtpd handler that writes each message to `directory` (atomically: tmp, rename)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        # The name sorts by arrival; the page lists newest first.
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
        recipients = ", ".join(envelope.rcpt_tos)
        content = envelope.original_content or envelope.content
        data = f"X-Sink-Envelope-To: {recipients}\r\n".encode() + content
        partial = self.directory / f".{name}.tmp"
        partial.write_bytes(data)
        os.replace(partial, self.directory / f"{name}.eml")
        return "250 Message accepted for delivery"


def serve(directory: Path, host: str = "127.0.0.1", port: int = 1025) -> Controller:
    """Start the sink in a background thread; `stop()` the returned controller to end it."""
    controller = Controller(MailSink(directory), hostname=host, port=port, enable_SMTPUTF8=True)
    controller.start()
    return controller


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demo.mail_sink", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, default=Path("instance/mail"))
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    controller = serve(args.dir, args.host, args.port)
    print(f"mail sink on smtp://{args.host}:{args.port}, keeping emails in {args.dir}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
