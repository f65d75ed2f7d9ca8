"""Run the double standalone: `python -m klaviyo_double --port 8767` (the demo's port)."""

from __future__ import annotations

import argparse
import os
import threading

from .server import KlaviyoDouble
from .state import DEMO_KEY


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m klaviyo_double", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("KLAVIYO_DOUBLE_PORT", "8767"))
    )
    args = parser.parse_args(argv)
    double = KlaviyoDouble()
    url = double.start(args.host, args.port)
    print(f"Klaviyo double on {url} (events page: {url}/); demo private key: {DEMO_KEY}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        double.stop()


if __name__ == "__main__":
    main()
