"""Customers: Shopify's customers (Members with accounts, Guests without) and imported contacts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopify_app.platform.models.base import Base, IndexExpression, ShopOwned, TimestampMixin
from shopify_app.platform.models.loyalty import PointBalance

MEMBER_STATES = frozenset({"ENABLED"})

#: lower(trim(first || ' ' || last)): the name the customers table sorts and prefix-searches on
#: (`shopify_app.customers.search.NAME_KEY` queries this exact expression, so the index serves
#: it); `postgresql` is how PostgreSQL 14 and later restate it.
NAME_KEY = IndexExpression(
    "lower(trim(first_name || ' ' || last_name))",
    postgresql="lower(TRIM(BOTH FROM (first_name::text || ' '::text) || last_name::text))",
    key="name_key",
)
LAST_NAME_KEY = IndexExpression("lower(last_name)", key="last_name_key")
#: The name, a newline, the email: the text the customers table's infix search reads on
#: PostgreSQL (`shopify_app.customers.search.SEARCH_KEY`). A search never holds a newline
#: (the table collapses whitespace), so no match spans the name and the email.
SEARCH_KEY = IndexExpression(
    "lower(trim(first_name || ' ' || last_name)) || chr(10) || coalesce(email_key, '')",
    postgresql="((lower(TRIM(BOTH FROM (first_name::text || ' '::text) || last_name::text))"
    " || chr(10)) || COALESCE(email_key, ''::character varying)::text)",
    key="search_key",
)
#: Only customers the table shows: what every count of the table filters on.
LIVE = "deleted_at IS NULL AND redacted_at IS NULL"


def is_member_state(state: str | None) -> bool:
    """A customer whose Shopify `state` is ENABLED has an account: a Member; else a Guest."""
    return (state or "").upper() in MEMBER_STATES


class Customer(ShopOwned, TimestampMixin, Base):
    __tablename__ = "customers"
    # Every sort of the customers table has a (shop_id, <sort key>, id) index, so a keyset page
    # is an index range scan whatever its depth. The points balance lives in the narrow
    # point_balances table: earning, redeeming, expiry and imports update it often, and on this
    # wide row each update rewrote every index (no HOT updates).
    __table_args__ = (
        Index(
            "uq_customers_shop_id_shopify_id",
            "shop_id",
            "shopify_id",
            unique=True,
            postgresql_where=text("shopify_id IS NOT NULL"),
            sqlite_where=text("shopify_id IS NOT NULL"),
        ),
        Index(
            "uq_customers_shop_id_email_key",
            "shop_id",
            "email_key",
            unique=True,
            postgresql_where=text("email_key IS NOT NULL"),
            sqlite_where=text("email_key IS NOT NULL"),
        ),
        Index("ix_customers_shop_id_email_canonical", "shop_id", "email_canonical"),
        # Keyset pages of the customers table, one index per sort.
        Index("ix_customers_shop_id_created_at_id", "shop_id", "created_at", "id"),
        Index("ix_customers_shop_id_name_key_id", "shop_id", NAME_KEY, "id"),
        Index(
            "ix_customers_shop_id_successful_referrals_id", "shop_id", "successful_referrals", "id"
        ),
        Index(
            "ix_customers_shop_id_referrer_revenue_minor_id",
            "shop_id",
            "referrer_revenue_minor",
            "id",
        ),
        Index(
            "ix_customers_shop_id_referee_revenue_minor_id",
            "shop_id",
            "referee_revenue_minor",
            "id",
        ),
        # Prefix search (LIKE 'abc%', for searches too short for trigrams): PostgreSQL needs
        # pattern ops unless the collation is "C".
        Index(
            "ix_customers_shop_id_name_search",
            "shop_id",
            NAME_KEY,
            postgresql_ops={"name_key": "text_pattern_ops"},
        ),
        Index(
            "ix_customers_shop_id_last_name_search",
            "shop_id",
            LAST_NAME_KEY,
            postgresql_ops={"last_name_key": "text_pattern_ops"},
        ),
        Index(
            "ix_customers_shop_id_email_search",
            "shop_id",
            "email_key",
            postgresql_ops={"email_key": "text_pattern_ops"},
        ),
        # Infix search (LIKE '%abc%'): a trigram index, PostgreSQL only (pg_trgm); SQLite scans.
        Index(
            "ix_customers_search_trgm",
            SEARCH_KEY,
            postgresql_using="gin",
            postgresql_ops={"search_key": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        # "Select all N matching": an index-only count of the shown customers by status and
        # program (the heap would be read for deleted_at/redacted_at otherwise).
        Index(
            "ix_customers_shop_id_is_member_joined_at_live",
            "shop_id",
            "is_member",
            "joined_at",
            postgresql_where=text(LIVE),
            sqlite_where=text(LIVE),
        ),
        # The home page's "joined this month": joins in a range of days.
        Index("ix_customers_shop_id_joined_at", "shop_id", "joined_at"),
        # Customers removed while a points import runs (it resolves ids once, up front): only
        # removed customers are in these, so writing a live customer costs them nothing.
        *(
            Index(
                f"ix_customers_shop_id_{column}",
                "shop_id",
                column,
                postgresql_where=text(f"{column} IS NOT NULL"),
                sqlite_where=text(f"{column} IS NOT NULL"),
            )
            for column in ("deleted_at", "redacted_at")
        ),
        {"postgresql_with": {"fillfactor": 85}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    shopify_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(320))
    #: lower-cased, trimmed email: the identity contacts are matched on.
    email_key: Mapped[str | None] = mapped_column(String(320))
    #: email_key without `+tag` (and dots for Gmail): catches self-referral variants.
    email_canonical: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str] = mapped_column(String(255), default="")
    last_name: Mapped[str] = mapped_column(String(255), default="")
    locale: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="DISABLED")
    is_member: Mapped[bool] = mapped_column(default=False)
    tags: Mapped[str] = mapped_column(String(2000), default="")
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    unsubscribed: Mapped[bool] = mapped_column(default=False)

    joined_at: Mapped[datetime | None]
    referral_code: Mapped[str | None] = mapped_column(String(32), unique=True)

    # Referral statistics, maintained by the referral engine so the table can sort on them.
    total_referees: Mapped[int] = mapped_column(default=0)
    successful_referrals: Mapped[int] = mapped_column(default=0)
    referrer_revenue_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    referee_revenue_minor: Mapped[int] = mapped_column(BigInteger, default=0)

    #: Shopify's `updated_at` of the newest payload applied; older deliveries are ignored.
    shopify_updated_at: Mapped[datetime | None]
    #: Set by customers/delete; a late update never brings the customer back.
    deleted_at: Mapped[datetime | None]
    redacted_at: Mapped[datetime | None]

    #: the customer's points and point state; every customer has one (made with the customer).
    balance_row: Mapped[PointBalance] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="select"
    )

    def __init__(self, *, points_balance: int = 0, **kwargs: Any) -> None:
        """`points_balance`: a new customer's starting balance (seeds, tests); later changes
        go through the ledger."""
        super().__init__(**kwargs)
        if self.balance_row is None:
            self.balance_row = PointBalance(shop_id=self.shop_id, balance=points_balance)

    @property
    def points_balance(self) -> int:
        """Read-only: balances change through the ledger (`loyalty.ledger.add_points`)."""
        return self.balance_row.balance if self.balance_row is not None else 0

    @property
    def is_joined(self) -> bool:
        return self.joined_at is not None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def display_name(self) -> str:
        return self.name or self.email or f"Customer {self.id}"

    @property
    def shopify_gid(self) -> str | None:
        return f"gid://shopify/Customer/{self.shopify_id}" if self.shopify_id else None
