"""Run the double standalone: `python -m mailchimp_double --port 8766`.

The OAuth client id and secret default to the app's own MAILCHIMP_CLIENT_ID and
MAILCHIMP_CLIENT_SECRET, so the demo needs no flags.
"""

from __future__ import annotations

import argparse
import os
import threading

from .demo import seed_demo
from .server import MailchimpDouble


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mailchimp_double", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument(
        "--client-id", default=os.environ.get("MAILCHIMP_CLIENT_ID", "dev-mailchimp-client")
    )
    parser.add_argument(
        "--client-secret", default=os.environ.get("MAILCHIMP_CLIENT_SECRET", "dev-mailchimp-secret")
    )
    parser.add_argument("--no-demo", action="store_true", help="start without the demo account")
    parser.add_argument(
        "--large", type=int, default=0, help="also add an audience of this many members"
    )
    args = parser.parse_args(argv)
    double = MailchimpDouble(args.client_id, args.client_secret, auto_approve=False)
    if not args.no_demo:
        key = seed_demo(double)
        if args.large:
            list_id = double.add_audience("demo", f"Large ({args.large:,})")
            double.generate_members("demo", list_id, args.large, domain="large.example.com")
    base = double.start(host=args.host, port=args.port)
    print(
        f"Mailchimp double on {base}; MAILCHIMP_OAUTH_BASE={double.oauth_base} "
        f"MAILCHIMP_API_BASE={double.api_base}",
        flush=True,
    )
    if not args.no_demo:
        print(f"demo account API key: {key}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        double.stop()


if __name__ == "__main__":
    main()
