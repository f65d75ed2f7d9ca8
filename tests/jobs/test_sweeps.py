"""The worker's sweeper runs the sweeps the capabilities registered with the factory."""

from __future__ import annotations

from shopify_app.platform import sweeps


def test_the_factory_registers_every_capabilitys_sweep_once(app):
    names = [sweep.__module__ + "." + sweep.__qualname__ for sweep in sweeps.registered(app)]
    assert sorted(names) == [
        "shopify_app.customers.export_jobs.sweep_exports",
        "shopify_app.imports.jobs.sweep_imports",
        "shopify_app.invitations.jobs.sweep_invitations",
        "shopify_app.privacy.jobs.purge_files",
        "shopify_app.referrals.jobs.sweep_rewards",
        "webhooks.drain.sweep_webhooks",
    ]
