"""Blueprint "metrics": referral revenue figures for a date range, over time, top referrers."""

from __future__ import annotations

from flask import Blueprint, flash, g, render_template, request

from shopify_app.metrics.queries import (
    InvalidRange,
    chart_spec,
    metrics_report,
    parse_range,
    percent_change,
    today_for,
)
from shopify_app.platform.auth.guards import shop_required

bp = Blueprint("metrics", __name__, url_prefix="/metrics")


@bp.get("")
@shop_required
def index():
    today = today_for(g.shop)
    try:
        choice = parse_range(request.args, today)
    except InvalidRange as error:
        flash(str(error), "critical")
        choice = parse_range({}, today)
    report = metrics_report(g.shop, choice)
    return render_template(
        "metrics/index.html",
        report=report,
        chart=chart_spec(g.shop, report),
        today=today,
        percent_change=percent_change,
    )
