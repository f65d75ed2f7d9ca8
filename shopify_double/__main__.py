"""Run the double standalone: `python -m shopify_double --port 8765 --api-key K ...`.

Settings default to the app's own environment variables so the demo needs no flags.
"""

from __future__ import annotations

import argparse
import os
import threading

from .demo import ActivityStream, seed_customers
from .server import ShopifyDouble


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shopify_double", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", default=os.environ.get("SHOPIFY_API_KEY", "key"))
    parser.add_argument("--api-secret", default=os.environ.get("SHOPIFY_API_SECRET", "secret"))
    parser.add_argument(
        "--app-url", default=os.environ.get("SHOPIFY_APP_URL", "http://127.0.0.1:5000")
    )
    parser.add_argument("--api-version", default=os.environ.get("SHOPIFY_API_VERSION", "2026-10"))
    parser.add_argument(
        "--shop",
        action="append",
        default=None,
        help="shop domain to create (repeatable; default demo.myshopify.com)",
    )
    parser.add_argument(
        "--shop-name", default=None, help="the store name every created shop reports"
    )
    parser.add_argument(
        "--currency", default="USD", help="the store currency every created shop reports"
    )
    parser.add_argument("--customers", type=int, default=0, help="customers to seed per shop")
    parser.add_argument(
        "--activity",
        type=float,
        default=0.0,
        help="seconds between live orders/customer updates sent to the app (0: none)",
    )
    parser.add_argument("--backlog", type=int, default=300, help="orders sent when the app is up")
    args = parser.parse_args(argv)
    double = ShopifyDouble(
        api_key=args.api_key,
        api_secret=args.api_secret,
        app_url=args.app_url,
        api_version=args.api_version,
    )
    streams = []
    for domain in args.shop or ["demo.myshopify.com"]:
        double.add_shop(domain, name=args.shop_name, currency=args.currency)
        if args.customers:
            seed_customers(double, domain, args.customers)
        if args.activity:
            streams.append(
                ActivityStream(double, domain, backlog=args.backlog, interval=args.activity)
            )
    base = double.start(host=args.host, port=args.port)
    for stream in streams:
        stream.start()
    print(f"Shopify double on {base}; SHOPIFY_API_BASE={double.api_base}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        double.stop()


if __name__ == "__main__":
    main()
