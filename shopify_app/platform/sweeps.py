"""Sweeps: accepted work that is not done (never queued, or its worker died) is queued again.

Capabilities register their sweeps with `on_sweep` in their `init_app` (as an install's work
registers with `shops.on_installed`) and the worker's sweeper runs `registered(app)`, so the
platform names no capability and the worker imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

#: app.extensions key of the sweeps the worker runs.
SWEEPS = "sweeps"


def on_sweep(app: Flask, sweep: Callable[[], object]) -> None:
    """Have the worker's sweeper run `sweep()` every interval (capabilities register theirs)."""
    app.extensions.setdefault(SWEEPS, []).append(sweep)


def registered(app: Flask) -> list[Callable[[], object]]:
    """The app's sweeps, in the order `create_app` registered them (none depends on another)."""
    return list(app.extensions.get(SWEEPS, []))
