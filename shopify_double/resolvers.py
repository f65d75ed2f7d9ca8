"""Resolvers for the Admin API subset: records rendered as dicts keyed by GraphQL field names.

graphql-core's default resolver reads dict keys and calls callables with `(info, **args)`, so
fields with arguments or costly lookups are closures and plain fields are values. Union and
interface members carry `__typename`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from .bulk import bulk_node, cancel_bulk_operation, run_bulk_query
from .context import Context
from .metafields import customer_metafield, set_metafields
from .search import matches, micros, paginate, parse_search
from .state import Customer, Discount, Order, Shop, gid, iso, money, parse_gid, parse_time

ACCESS_DOCS = "https://shopify.dev/api/usage/access-scopes"


def require(info: GraphQLResolveInfo, scope: str) -> None:
    """Shopify answers a field the token's scopes do not cover with ACCESS_DENIED."""
    if not info.context.allows(scope):
        raise GraphQLError(
            f"Access denied for {info.field_name} field. Required access: `{scope}` access scope.",
            extensions={
                "code": "ACCESS_DENIED",
                "documentation": ACCESS_DOCS,
                "requiredAccess": f"`{scope}` access scope.",
            },
        )


def decimal_text(value: Decimal) -> str:
    """Shopify's Decimal scalar: trailing zeros dropped but at least one decimal, e.g. "10.0"."""
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


def money_v2(amount: Decimal, currency: str) -> dict:
    return {"amount": decimal_text(amount), "currencyCode": currency}


def money_bag(amount: Decimal, currency: str) -> dict:
    return {"shopMoney": money_v2(amount, currency), "presentmentMoney": money_v2(amount, currency)}


def shop_node(ctx: Context) -> dict:
    shop = ctx.shop
    return {
        "__typename": "Shop",
        "id": gid("Shop", shop.id),
        "name": shop.name,
        "email": shop.email,
        "contactEmail": shop.email,
        "myshopifyDomain": shop.domain,
        "url": f"https://{shop.domain}",
        "currencyCode": shop.currency,
        "ianaTimezone": shop.timezone,
        "primaryDomain": {
            "id": gid("Domain", shop.id),
            "host": shop.domain,
            "url": f"https://{shop.domain}",
            "sslEnabled": True,
        },
    }


def customer_node(ctx: Context, customer: Customer) -> dict:
    shop = ctx.shop

    def orders(info: GraphQLResolveInfo, **args: Any) -> dict:
        require(info, "read_orders")
        return order_connection(ctx, shop.orders_of(customer.id), args)

    def amount_spent(info: GraphQLResolveInfo) -> dict:
        spent = sum((o.total - o.refunded for o in shop.orders_of(customer.id)), Decimal(0))
        return money_v2(money(spent), shop.currency)

    return {
        "__typename": "Customer",
        "id": gid("Customer", customer.id),
        "legacyResourceId": str(customer.id),
        "firstName": customer.first_name or None,
        "lastName": customer.last_name or None,
        "displayName": customer.display_name,
        "email": customer.email,
        "defaultEmailAddress": (
            {"emailAddress": customer.email, "marketingState": "NOT_SUBSCRIBED"}
            if customer.email
            else None
        ),
        "phone": customer.phone,
        "note": customer.note,
        "locale": customer.locale,
        "state": customer.state,
        "tags": list(customer.tags),
        "verifiedEmail": customer.verified_email,
        "createdAt": iso(customer.created_at),
        "updatedAt": iso(customer.updated_at),
        "numberOfOrders": lambda info: str(len(shop.orders_of(customer.id))),
        "amountSpent": amount_spent,
        "orders": orders,
        "metafield": lambda info, key, namespace=None: customer_metafield(
            ctx, customer, namespace, key
        ),
    }


def _financial_status(order: Order) -> str:
    return order.financial_status.upper()


def order_node(ctx: Context, order: Order) -> dict:
    shop = ctx.shop
    currency = order.currency
    discounts = order.total_discounts

    def customer(info: GraphQLResolveInfo) -> dict | None:
        require(info, "read_customers")
        found = shop.customers.get(order.customer_id) if order.customer_id else None
        return customer_node(ctx, found) if found else None

    return {
        "__typename": "Order",
        "id": gid("Order", order.id),
        "legacyResourceId": str(order.id),
        "name": order.name,
        "email": order.email,
        "createdAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at),
        "processedAt": iso(order.processed_at),
        "cancelledAt": iso(order.cancelled_at),
        "cancelReason": order.cancel_reason.upper() if order.cancel_reason else None,
        "closed": False,
        "test": False,
        "currencyCode": currency,
        "displayFinancialStatus": _financial_status(order),
        "discountCode": order.discount_codes[0].code if order.discount_codes else None,
        "discountCodes": [d.code for d in order.discount_codes],
        "subtotalPriceSet": money_bag(order.subtotal - discounts, currency),
        "totalDiscountsSet": money_bag(discounts, currency),
        "totalPriceSet": money_bag(order.total, currency),
        "currentTotalPriceSet": money_bag(order.total - order.refunded, currency),
        "totalRefundedSet": money_bag(order.refunded, currency),
        "customer": customer,
    }


def _discount_summary(discount: Discount, currency: str) -> str:
    if "percentage" in discount.value:
        off = f"{decimal_text(Decimal(str(discount.value['percentage'])) * 100)}% off"
    else:
        off = f"{discount.value['amount']} {currency} off"
    parts = [f"{off} entire order"]
    if discount.applies_once_per_customer:
        parts.append("One use per customer")
    if discount.usage_limit:
        parts.append(f"Limit of {discount.usage_limit} uses")
    return " • ".join(parts)


def discount_node(ctx: Context, discount: Discount) -> dict:
    shop = ctx.shop
    currency = shop.currency
    if "percentage" in discount.value:
        value = {"__typename": "DiscountPercentage", "percentage": discount.value["percentage"]}
    else:
        value = {
            "__typename": "DiscountAmount",
            "amount": money_v2(Decimal(discount.value["amount"]), currency),
            "appliesOnEachItem": discount.value["applies_on_each_item"],
        }

    def customers(info: GraphQLResolveInfo) -> list[dict]:
        require(info, "read_customers")
        found = (shop.customers.get(c) for c in discount.customer_ids)
        return [customer_node(ctx, c) for c in found if c is not None]

    code = {
        "id": gid("DiscountRedeemCode", discount.code_id),
        "code": discount.code,
        "asyncUsageCount": discount.usage_count,
    }

    def codes(info: GraphQLResolveInfo, **args: Any) -> dict:
        return paginate(
            [discount],
            args,
            key=lambda d: (d.code_id, d.code_id),
            node=lambda d: code,
            unbounded=ctx.bulk,
        )

    if discount.customer_ids:
        context = {"__typename": "DiscountCustomers", "customers": customers}
        selection = context
    else:
        context = {"__typename": "DiscountBuyerSelectionAll", "all": "ALL"}
        selection = {"__typename": "DiscountCustomerAll", "allCustomers": True}
    return {
        "__typename": "DiscountCodeNode",
        "id": gid("DiscountCodeNode", discount.id),
        "codeDiscount": {
            "__typename": "DiscountCodeBasic",
            "title": discount.title,
            "status": discount.status(datetime.now(UTC)),
            "summary": _discount_summary(discount, currency),
            "discountClass": "ORDER",
            "startsAt": iso(discount.starts_at),
            "endsAt": iso(discount.ends_at),
            "createdAt": iso(discount.created_at),
            "updatedAt": iso(discount.updated_at),
            "usageLimit": discount.usage_limit,
            "appliesOncePerCustomer": discount.applies_once_per_customer,
            "asyncUsageCount": discount.usage_count,
            "codes": codes,
            "codesCount": {"count": 1, "precision": "EXACT"},
            "customerGets": {
                "value": value,
                "items": {"__typename": "AllDiscountItems", "allItems": True},
                "appliesOnOneTimePurchase": True,
                "appliesOnSubscription": False,
            },
            "minimumRequirement": (
                {
                    "__typename": "DiscountMinimumSubtotal",
                    "greaterThanOrEqualToSubtotal": money_v2(
                        Decimal(discount.min_subtotal), currency
                    ),
                }
                if discount.min_subtotal is not None
                else None
            ),
            "context": context,
            "customerSelection": selection,
            "combinesWith": dict(discount.combines_with),
        },
    }


CUSTOMER_SORT: dict[str, Callable[[Customer], tuple[Any, int]]] = {
    "ID": lambda c: (c.id, c.id),
    "CREATED_AT": lambda c: (micros(c.created_at), c.id),
    "UPDATED_AT": lambda c: (micros(c.updated_at), c.id),
    "NAME": lambda c: (c.display_name.lower(), c.id),
    "LOCATION": lambda c: (c.id, c.id),
    "RELEVANCE": lambda c: (c.id, c.id),
}
ORDER_SORT: dict[str, Callable[[Order], tuple[Any, int]]] = {
    "ID": lambda o: (o.id, o.id),
    "CREATED_AT": lambda o: (micros(o.created_at), o.id),
    "UPDATED_AT": lambda o: (micros(o.updated_at), o.id),
    "PROCESSED_AT": lambda o: (micros(o.processed_at), o.id),
    "TOTAL_PRICE": lambda o: (int(o.total * 100), o.id),
    "CUSTOMER_NAME": lambda o: (o.email or "", o.id),
    "RELEVANCE": lambda o: (o.id, o.id),
}


def customer_fields(shop: Shop, customer: Customer) -> dict[str, Any]:
    """What Shopify's customer search syntax can filter on."""
    return {
        "default": [customer.first_name, customer.last_name, customer.email],
        "id": customer.id,
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "phone": customer.phone,
        "state": customer.state,
        "customer_state": customer.state,
        "tag": customer.tags,
        "tag_not": [],
        "locale": customer.locale,
        "created_at": customer.created_at,
        "customer_date": customer.created_at,
        "updated_at": customer.updated_at,
        "orders_count": lambda: len(shop.orders_of(customer.id)),
    }


def order_fields(order: Order) -> dict[str, Any]:
    """What Shopify's order search syntax can filter on."""
    return {
        "default": [order.name, order.name.lstrip("#"), order.email],
        "id": order.id,
        "name": [order.name, order.name.lstrip("#")],
        "email": order.email,
        "customer_id": order.customer_id,
        "financial_status": order.financial_status,
        "status": "cancelled" if order.cancelled_at else "open",
        "discount_code": [d.code for d in order.discount_codes],
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "processed_at": order.processed_at,
    }


def order_connection(ctx: Context, orders: list[Order], args: dict[str, Any]) -> dict:
    groups = parse_search(args.get("query"))
    found = [o for o in orders if matches(order_fields(o), groups)]
    return paginate(
        found,
        args,
        key=ORDER_SORT[args.get("sortKey") or "ID"],
        node=lambda o: order_node(ctx, o),
        unbounded=ctx.bulk,
    )


def _count(total: int, limit: int | None) -> dict:
    if limit is not None and total > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": total, "precision": "EXACT"}


def resolve_customers(info: GraphQLResolveInfo, **args: Any) -> dict:
    require(info, "read_customers")
    ctx: Context = info.context
    groups = parse_search(args.get("query"))
    found = [
        c for c in ctx.shop.customers.values() if matches(customer_fields(ctx.shop, c), groups)
    ]
    return paginate(
        found,
        args,
        key=CUSTOMER_SORT[args.get("sortKey") or "ID"],
        node=lambda c: customer_node(ctx, c),
        unbounded=ctx.bulk,
    )


def resolve_customer(info: GraphQLResolveInfo, id: str) -> dict | None:
    require(info, "read_customers")
    ctx: Context = info.context
    found = ctx.shop.customers.get(_gid_number(id, "Customer"))
    return customer_node(ctx, found) if found else None


def resolve_customers_count(info: GraphQLResolveInfo, **args: Any) -> dict:
    require(info, "read_customers")
    ctx: Context = info.context
    groups = parse_search(args.get("query"))
    total = sum(
        1 for c in ctx.shop.customers.values() if matches(customer_fields(ctx.shop, c), groups)
    )
    return _count(total, args.get("limit"))


def resolve_orders(info: GraphQLResolveInfo, **args: Any) -> dict:
    require(info, "read_orders")
    ctx: Context = info.context
    return order_connection(ctx, list(ctx.shop.orders.values()), args)


def resolve_order(info: GraphQLResolveInfo, id: str) -> dict | None:
    require(info, "read_orders")
    ctx: Context = info.context
    found = ctx.shop.orders.get(_gid_number(id, "Order"))
    return order_node(ctx, found) if found else None


def resolve_orders_count(info: GraphQLResolveInfo, **args: Any) -> dict:
    require(info, "read_orders")
    ctx: Context = info.context
    groups = parse_search(args.get("query"))
    total = sum(1 for o in ctx.shop.orders.values() if matches(order_fields(o), groups))
    return _count(total, args.get("limit"))


def _gid_number(value: str, kind: str) -> int | None:
    """The id inside a gid; a malformed one is an error, as on Shopify."""
    if not value.startswith("gid://"):
        raise GraphQLError(
            f"Invalid global id '{value}'", extensions={"code": "argumentLiteralsIncompatible"}
        )
    return parse_gid(value, kind)


def resolve_code_discount_node(info: GraphQLResolveInfo, id: str) -> dict | None:
    require(info, "read_discounts")
    ctx: Context = info.context
    found = ctx.shop.discounts.get(_gid_number(id, "DiscountCodeNode"))
    return discount_node(ctx, found) if found else None


def resolve_code_discount_node_by_code(info: GraphQLResolveInfo, code: str) -> dict | None:
    require(info, "read_discounts")
    ctx: Context = info.context
    found = ctx.shop.discount_by_code(code)
    return discount_node(ctx, found) if found else None


def resolve_bulk_operation(info: GraphQLResolveInfo, id: str) -> dict | None:
    """`bulkOperation(id:)`: one operation of this app and shop, whatever else is running."""
    ctx: Context = info.context
    found = ctx.shop.bulk_operations.get(_gid_number(id, "BulkOperation") or -1)
    return bulk_node(ctx, found) if found else None


def resolve_current_bulk_operation(info: GraphQLResolveInfo, type: str = "QUERY") -> dict | None:
    """Deprecated since 2026-01: the most recent operation, which with several running at once
    need not be the caller's. It still answers, as Shopify's deprecated fields do."""
    ctx: Context = info.context
    if type != "QUERY" or not ctx.shop.bulk_operations:
        return None
    latest = ctx.shop.bulk_operations[max(ctx.shop.bulk_operations)]
    return bulk_node(ctx, latest)


def resolve_node(info: GraphQLResolveInfo, id: str) -> dict | None:
    ctx: Context = info.context
    kind = id.split("/")[3] if id.startswith("gid://shopify/") and id.count("/") >= 4 else None
    number = parse_gid(id, kind) if kind else None
    if number is None:
        raise GraphQLError(
            f"Invalid global id '{id}'", extensions={"code": "argumentLiteralsIncompatible"}
        )
    shop = ctx.shop
    if kind == "Customer":
        require(info, "read_customers")
        return customer_node(ctx, shop.customers[number]) if number in shop.customers else None
    if kind == "Order":
        require(info, "read_orders")
        return order_node(ctx, shop.orders[number]) if number in shop.orders else None
    if kind == "DiscountCodeNode":
        require(info, "read_discounts")
        return discount_node(ctx, shop.discounts[number]) if number in shop.discounts else None
    if kind == "BulkOperation" and number in shop.bulk_operations:
        return bulk_node(ctx, shop.bulk_operations[number])
    if kind == "Shop" and number == shop.id:
        return shop_node(ctx)
    return None


def resolve_nodes(info: GraphQLResolveInfo, ids: list[str]) -> list[dict | None]:
    return [resolve_node(info, node_id) for node_id in ids]


def _error(path: list[str], message: str, code: str) -> dict:
    return {"field": ["basicCodeDiscount", *path], "message": message, "code": code}


def _time_input(value: Any, path: list[str], errors: list[dict]) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(str(value))
    except ValueError:
        errors.append(_error(path, f"{path[-1]} is invalid", "INVALID"))
        return None


def _customer_ids(ctx: Context, data: dict, errors: list[dict]) -> list[int]:
    """The customers a discount is limited to, from `context` or the older `customerSelection`."""
    if data.get("context") and data.get("customerSelection"):
        errors.append(
            _error([], "Only one of context or customerSelection can be provided.", "INVALID")
        )
        return []
    if not data.get("context") and not data.get("customerSelection"):
        # Required on create: who may use the code is never left to a default.
        errors.append(_error(["context"], "Context can't be blank", "BLANK"))
        return []
    key = "context" if data.get("context") else "customerSelection"
    selection = data.get(key) or {}
    ids = []
    for index, value in enumerate((selection.get("customers") or {}).get("add") or []):
        number = parse_gid(value, "Customer")
        if number is None or number not in ctx.shop.customers:
            errors.append(
                _error(
                    [key, "customers", "add", str(index)],
                    f"Customer {value} does not exist",
                    "INVALID",
                )
            )
        elif number not in ids:
            ids.append(number)
    return ids


def _discount_value(data: dict, errors: list[dict]) -> dict:
    value = ((data.get("customerGets") or {}).get("value")) or {}
    path = ["customerGets", "value"]
    if "percentage" in value and value.get("discountAmount"):
        errors.append(
            _error(path, "Only one of percentage or discountAmount can be provided.", "INVALID")
        )
        return {}
    if value.get("percentage") is not None:
        percentage = float(value["percentage"])
        if not 0.0 < percentage <= 1.0:
            errors.append(
                _error(
                    [*path, "percentage"],
                    "Value must be between 0.0 and 1.0",
                    "VALUE_OUTSIDE_RANGE",
                )
            )
        return {"percentage": percentage}
    amount = value.get("discountAmount") or {}
    if amount.get("amount") is not None:
        try:
            parsed = money(amount["amount"])
        except ArithmeticError:
            parsed = Decimal(-1)
        if parsed <= 0:
            errors.append(
                _error(
                    [*path, "discountAmount", "amount"],
                    "Value must be greater than 0",
                    "GREATER_THAN",
                )
            )
        return {
            "amount": f"{parsed:.2f}",
            "applies_on_each_item": bool(amount.get("appliesOnEachItem")),
        }
    errors.append(_error(path, "Value can't be blank", "BLANK"))
    return {}


def _min_subtotal(data: dict, errors: list[dict]) -> str | None:
    """`minimumRequirement.subtotal`, refused beside a quantity or when not above zero."""
    requirement = data.get("minimumRequirement") or {}
    subtotal = (requirement.get("subtotal") or {}).get("greaterThanOrEqualToSubtotal")
    if subtotal is None:
        return None
    if (requirement.get("quantity") or {}).get("greaterThanOrEqualToQuantity") is not None:
        errors.append(
            _error(
                ["minimumRequirement"],
                "Minimum subtotal and quantity range can't both be present",
                "MINIMUM_SUBTOTAL_AND_QUANTITY_RANGE_BOTH_PRESENT",
            )
        )
        return None
    try:
        parsed = money(subtotal)
    except ArithmeticError:
        parsed = Decimal(-1)
    if parsed <= 0:
        errors.append(
            _error(
                ["minimumRequirement", "subtotal", "greaterThanOrEqualToSubtotal"],
                "Value must be greater than 0",
                "GREATER_THAN",
            )
        )
        return None
    return f"{parsed:.2f}"


def create_basic_code_discount(info: GraphQLResolveInfo, basicCodeDiscount: dict) -> dict:
    """`discountCodeBasicCreate`, with the userErrors Shopify returns for bad input.

    The input type serves create and update alike, so its fields are nullable in the schema;
    what a create requires (`code`, `context`, `customerGets`, `startsAt`, `title`) is checked
    here and refused as a userError, as Shopify does, never filled in.
    """
    require(info, "write_discounts")
    ctx: Context = info.context
    data = basicCodeDiscount
    errors: list[dict] = []
    title = (data.get("title") or "").strip()
    code = (data.get("code") or "").strip()
    if not title:
        errors.append(_error(["title"], "Title can't be blank", "BLANK"))
    if not code:
        errors.append(_error(["code"], "Code can't be blank", "BLANK"))
    elif len(code) > 255:
        errors.append(_error(["code"], "Code is too long (maximum is 255 characters)", "TOO_LONG"))
    elif ctx.shop.discount_by_code(code) is not None:
        errors.append(
            _error(["code"], "Code must be unique. Please try a different code.", "TAKEN")
        )
    now = ctx.store.clock.now()
    # Required on create (DiscountCodeBasicInput): Shopify fills in no default.
    starts_at = _time_input(data.get("startsAt"), ["startsAt"], errors)
    if data.get("startsAt") is None:
        errors.append(_error(["startsAt"], "Starts at can't be blank", "BLANK"))
    ends_at = _time_input(data.get("endsAt"), ["endsAt"], errors)
    if ends_at is not None and starts_at is not None and ends_at <= starts_at:
        errors.append(_error(["endsAt"], "Ends at needs to be after starts_at", "INVALID"))
    usage_limit = data.get("usageLimit")
    if usage_limit is not None and usage_limit < 1:
        errors.append(_error(["usageLimit"], "Usage limit must be greater than 0", "GREATER_THAN"))
    customer_ids = _customer_ids(ctx, data, errors)
    value = _discount_value(data, errors)
    min_subtotal = _min_subtotal(data, errors)
    if errors:
        return {"codeDiscountNode": None, "userErrors": errors}
    combines = data.get("combinesWith") or {}
    discount = Discount(
        id=ctx.store.next_id("DiscountCodeNode"),
        code_id=ctx.store.next_id("DiscountRedeemCode"),
        code=code,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        customer_ids=customer_ids,
        value=value,
        usage_limit=usage_limit,
        applies_once_per_customer=bool(data.get("appliesOncePerCustomer")),
        min_subtotal=min_subtotal,
        combines_with={
            "orderDiscounts": bool(combines.get("orderDiscounts")),
            "productDiscounts": bool(combines.get("productDiscounts")),
            "shippingDiscounts": bool(combines.get("shippingDiscounts")),
        },
        created_at=now,
        updated_at=now,
    )
    ctx.shop.discounts[discount.id] = discount
    return {"codeDiscountNode": discount_node(ctx, discount), "userErrors": []}


def _discount_or_errors(info: GraphQLResolveInfo, id: str) -> tuple[Discount | None, list[dict]]:
    require(info, "write_discounts")
    ctx: Context = info.context
    discount = ctx.shop.discounts.get(parse_gid(id, "DiscountCodeNode") or -1)
    if discount is None:
        return None, [{"field": ["id"], "message": "Discount does not exist", "code": "INVALID"}]
    return discount, []


def set_discount_active(active: bool) -> Callable[..., dict]:
    """`discountCodeActivate` / `discountCodeDeactivate`."""

    def resolve(info: GraphQLResolveInfo, id: str) -> dict:
        discount, errors = _discount_or_errors(info, id)
        if discount is None:
            return {"codeDiscountNode": None, "userErrors": errors}
        ctx: Context = info.context
        now = ctx.store.clock.now()
        discount.deactivated = not active
        if not active:
            discount.ends_at = now
        elif discount.ends_at is not None and discount.ends_at <= now:
            discount.ends_at = None
        discount.updated_at = now
        return {"codeDiscountNode": discount_node(ctx, discount), "userErrors": []}

    return resolve


def delete_discount(info: GraphQLResolveInfo, id: str) -> dict:
    discount, errors = _discount_or_errors(info, id)
    if discount is None:
        return {"deletedCodeDiscountId": None, "userErrors": errors}
    del info.context.shop.discounts[discount.id]
    return {"deletedCodeDiscountId": gid("DiscountCodeNode", discount.id), "userErrors": []}


ROOT: dict[str, Callable[..., Any]] = {
    "shop": lambda info: shop_node(info.context),
    "customer": resolve_customer,
    "customers": resolve_customers,
    "customersCount": resolve_customers_count,
    "order": resolve_order,
    "orders": resolve_orders,
    "ordersCount": resolve_orders_count,
    "codeDiscountNode": resolve_code_discount_node,
    "codeDiscountNodeByCode": resolve_code_discount_node_by_code,
    "bulkOperation": resolve_bulk_operation,
    "currentBulkOperation": resolve_current_bulk_operation,
    "node": resolve_node,
    "nodes": resolve_nodes,
    "discountCodeBasicCreate": create_basic_code_discount,
    "discountCodeActivate": set_discount_active(True),
    "discountCodeDeactivate": set_discount_active(False),
    "discountCodeDelete": delete_discount,
    "bulkOperationRunQuery": lambda info, query: run_bulk_query(info, query),
    "bulkOperationCancel": lambda info, id: cancel_bulk_operation(info, id),
    "metafieldsSet": set_metafields,
}
