"""The referrer's maintained statistics on `Customer`, and the oracle they must match.

The engine changes them with relative UPDATEs in the same transaction as the rows they
summarise, so concurrent writers never lose an increment and the columns stay exactly in
step with these invariants (see `referral_stats`):

- total_referees = the referrer's referrals that are not Blocked;
- successful_referrals = its Completed referrals;
- referee_revenue_minor = the order totals of those Completed referrals;
- referrer_revenue_minor = the `revenue_minor` of its rewards (orders it paid with a reward
  code, zeroed when such an order is cancelled or fully refunded).
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import bindparam, func, select, update

from shopify_app.platform.extensions import db
from shopify_app.platform.models import Customer, Referral, Reward, Shop
from shopify_app.platform.models.referral import COMPLETED, PENDING


def bump(customer_id: int, **deltas: int) -> None:
    """Relative UPDATE of the maintained stats: concurrent writers never lose an increment."""
    bump_many({customer_id: Counter(deltas)})


def bump_many(deltas: dict[int, Counter[str]]) -> None:
    """Many customers' stats deltas in one executemany, in id order (the order rows lock in)."""
    rows = {cid: d for cid, d in sorted(deltas.items()) if any(d.values())}
    names = sorted({name for d in rows.values() for name, delta in d.items() if delta})
    if not names:
        return
    table = Customer.__table__
    # Core, not ORM: an ORM UPDATE first evaluates its criteria against every loaded object.
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({name: table.c[name] + bindparam(f"d_{name}") for name in names})
    )
    db.session.execute(
        statement,
        [{"b_id": cid, **{f"d_{n}": d.get(n, 0) for n in names}} for cid, d in rows.items()],
    )


def referral_stats(shop: Shop, customer_id: int) -> dict[str, int]:
    """The four maintained stats recomputed from the rows: the oracle the columns must match."""
    by_status = dict(
        db.session.execute(
            select(Referral.status, func.count())
            .where(Referral.shop_id == shop.id, Referral.referrer_id == customer_id)
            .group_by(Referral.status)
        ).all()
    )
    referee_revenue = db.session.execute(
        select(func.coalesce(func.sum(Referral.order_total_minor), 0)).where(
            Referral.shop_id == shop.id,
            Referral.referrer_id == customer_id,
            Referral.status == COMPLETED,
        )
    ).scalar_one()
    referrer_revenue = db.session.execute(
        select(func.coalesce(func.sum(Reward.revenue_minor), 0)).where(
            Reward.shop_id == shop.id, Reward.customer_id == customer_id
        )
    ).scalar_one()
    return {
        "total_referees": by_status.get(PENDING, 0) + by_status.get(COMPLETED, 0),
        "successful_referrals": by_status.get(COMPLETED, 0),
        "referee_revenue_minor": int(referee_revenue),
        "referrer_revenue_minor": int(referrer_revenue),
    }
