"""The engine's discount codes: the prefixes it mints them with, and how an order's are routed.

A paid order's codes decide what the engine does with it (complete a referral, use a reward,
or nothing), so the routing is one small pure function the webhook can ask before it loads
anything: most orders carry none of these codes and cost no more than their own row.
"""

from __future__ import annotations

#: prefixes of the codes this engine creates: how a paid order's codes are routed.
REFEREE_PREFIX, REWARD_PREFIX = "FRIEND", "THANKS"


def engine_codes(codes: list[str] | None) -> tuple[list[str], list[str]]:
    """The referee discount codes and the reward codes among an order's codes, normalised.

    Codes are routed by the prefixes this engine gives them; the merchant's own are ignored.
    """
    normalised = {c.strip().upper() for c in codes or [] if c and c.strip()}
    return (
        sorted(c for c in normalised if c.startswith(REFEREE_PREFIX + "-")),
        sorted(c for c in normalised if c.startswith(REWARD_PREFIX + "-")),
    )


def routes(codes: list[str]) -> bool:
    """Does any of these codes belong to the engine (a referee discount or a reward)?"""
    return any(engine_codes(codes))
