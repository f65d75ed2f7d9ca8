"""The sweeps: registered by the capabilities with the factory, run by one helper."""

from __future__ import annotations

from datetime import timedelta

from shopify_app.platform import sweeps
from shopify_app.platform.extensions import db, queue
from shopify_app.platform.models import WebhookEvent
from shopify_app.platform.models.base import utcnow
from shopify_app.platform.models.webhook_event import FAILED
from shopify_app.platform.retry import SWEEP_BACKOFF
from shopify_app.referrals.jobs import sweep_rewards
from tests.factories import make_customer, make_reward


def test_the_factory_registers_every_capabilitys_sweep_once(app):
    names = [sweep.__module__ + "." + sweep.__qualname__ for sweep in sweeps.registered(app)]
    assert sorted(names) == [
        "shopify_app.customers.export_jobs.sweep_exports",
        "shopify_app.customers.sync_jobs.sweep_syncs",
        "shopify_app.imports.jobs.sweep_imports",
        "shopify_app.integrations.klaviyo.jobs.sweep_klaviyo",
        "shopify_app.invitations.jobs.sweep_audiences",
        "shopify_app.invitations.jobs.sweep_invitations",
        "shopify_app.loyalty.expiry_jobs.sweep_expiry",
        "shopify_app.loyalty.jobs.sweep_redemptions",
        "shopify_app.loyalty.metafield_jobs.sweep_metafields",
        "shopify_app.mailchimp.jobs.sweep_fetches",
        "shopify_app.privacy.jobs.purge_files",
        "shopify_app.referrals.jobs.sweep_rewards",
        "webhooks.drain.sweep_webhooks",
    ]


def test_backoff_holds_a_failed_row_until_the_policys_wait_has_passed(ctx, shop):
    """The backoff is SQL (one bound time per attempt count): the same instants as
    `SWEEP_BACKOFF.wait`, its one-hour cap included; no attempt yet waits nothing."""
    now = utcnow()
    expected = []
    for attempts in (0, 1, 2, 5, 9, 10, 20):
        wait = SWEEP_BACKOFF.wait(attempts) if attempts else timedelta(0)
        for offset, due in ((timedelta(seconds=-2), False), (timedelta(seconds=2), True)):
            event = WebhookEvent(
                webhook_id=f"backoff-{attempts}-{due}",
                shop_id=shop.id,
                shop_domain=shop.domain,
                topic="customers/update",
                status=FAILED,
                attempts=attempts,
                claimed_at=now - wait - offset,
            )
            db.session.add(event)
            db.session.flush()
            if due or not attempts:
                expected.append(event.id)
    db.session.commit()
    queued: list[int] = []
    failed = sweeps.Sweep(
        WebhookEvent,
        (
            sweeps.Waiting(
                WebhookEvent.status == FAILED, WebhookEvent.claimed_at, backoff=SWEEP_BACKOFF
            ),
        ),
        lambda row: queued.append(row.id) is None,
        attempts=WebhookEvent.attempts,
    )

    assert sweeps.run(failed) == len(expected)
    assert queued == sorted(expected)


def test_every_registered_sweep_runs(app, shop):
    """The sweeper logs a failing sweep and goes on; here a broken query fails the test."""
    for sweep in sweeps.registered(app):
        sweep()


def test_reward_syncs_that_never_ran_or_failed_are_queued_after_their_backoff(ctx, shop):
    customer = make_customer(shop)
    lost, failed_long_ago, failed_just_now = (make_reward(shop, customer) for _ in range(3))
    old = utcnow() - timedelta(hours=2)
    lost.updated_at = old  # pending: its commit hook never reached Redis
    failed_long_ago.shopify_status, failed_long_ago.shopify_attempts = "failed", 3
    failed_long_ago.updated_at = old
    failed_just_now.shopify_status, failed_just_now.shopify_attempts = "failed", 3
    db.session.commit()

    assert sweep_rewards() == 2
    assert sorted(queue().job_ids) == [
        f"reward-sync-{lost.id}-unused-0",
        f"reward-sync-{failed_long_ago.id}-unused-3",
    ]
