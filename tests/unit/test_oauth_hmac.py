"""The OAuth callback's HMAC without a database: ShopifyAPI's Session, kept to one secret."""

from __future__ import annotations

import shopify

from shopify_app.platform.shopify.signatures import oauth_query_signature, verify_oauth_query

SECRET = "hush"
#: Shopify's documented example: this query signed with the secret "hush".
DOCUMENTED = [
    ("code", "0907a61c0c8d55e99db179b68161bc00"),
    ("shop", "some-shop.myshopify.com"),
    ("state", "0.6784241404160823"),
    ("timestamp", "1337178173"),
]
DOCUMENTED_HMAC = "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"


def _signed(params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [*params, ("hmac", oauth_query_signature(params, SECRET))]


def test_signature_matches_shopifys_documented_example():
    assert oauth_query_signature(DOCUMENTED, SECRET) == DOCUMENTED_HMAC
    assert verify_oauth_query([*DOCUMENTED, ("hmac", DOCUMENTED_HMAC)], SECRET)
    assert verify_oauth_query([("hmac", DOCUMENTED_HMAC), *reversed(DOCUMENTED)], SECRET)


def test_tampered_missing_or_foreign_signatures_are_refused():
    signed = _signed(DOCUMENTED)
    assert not verify_oauth_query([(k, "other" if k == "state" else v) for k, v in signed], SECRET)
    assert not verify_oauth_query(DOCUMENTED, SECRET)
    assert not verify_oauth_query([*DOCUMENTED, ("hmac", "")], SECRET)
    assert not verify_oauth_query([*DOCUMENTED, ("hmac", "0" * 64)], SECRET)
    assert not verify_oauth_query(signed, "another-secret")


def test_pairs_merged_into_one_value_do_not_keep_the_signature():
    # Joined raw, `code=abc&shop=x` as one value signs the same text as two pairs; escaping
    # `&` (ShopifyAPI's encoding) makes them different messages.
    signed = dict(_signed(DOCUMENTED))
    merged = [
        ("code", f"{signed['code']}&shop={signed['shop']}"),
        ("state", signed["state"]),
        ("timestamp", signed["timestamp"]),
        ("hmac", signed["hmac"]),
    ]
    assert not verify_oauth_query(merged, SECRET)


def test_a_repeated_parameter_is_refused_even_when_one_copy_is_signed():
    signed = _signed(DOCUMENTED)
    assert not verify_oauth_query([("shop", "evil.myshopify.com"), *signed], SECRET)
    assert not verify_oauth_query([*signed, ("shop", "some-shop.myshopify.com")], SECRET)


def test_the_secret_never_lands_on_shopifyapis_shared_session_class():
    assert verify_oauth_query(_signed(DOCUMENTED), SECRET)
    other = [*DOCUMENTED, ("hmac", oauth_query_signature(DOCUMENTED, "second-app-secret"))]
    assert verify_oauth_query(other, "second-app-secret")
    assert not verify_oauth_query(other, SECRET)
    assert shopify.Session.secret is None
