"""`flask --app app import-points`, `import-contacts`, `import-people` and `import-events`: the
admin's import flow in a terminal.

The same services and the same job run as from the admin; `--dry-run` validates and prints
the preview, then leaves the database and the import folder exactly as they were.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from shopify_app.imports.decisions import confirm_import
from shopify_app.imports.jobs import run_import
from shopify_app.imports.preview import ImportStateError, create_import
from shopify_app.imports.reports import row_errors
from shopify_app.platform.auth.shop_domain import normalize_shop_domain
from shopify_app.platform.errors import ImportFileError, InvalidShopDomain
from shopify_app.platform.extensions import db
from shopify_app.platform.models import ImportJob, Shop
from shopify_app.platform.models.imports import CONTACTS, EVENTS, PEOPLE, POINTS
from shopify_app.platform.shops import get_shop
from shopify_app.segments.store import InvalidSegmentName, get_or_create_segment


def init_app(app: Flask) -> None:
    app.cli.add_command(import_points)
    app.cli.add_command(import_contacts)
    app.cli.add_command(import_people)
    app.cli.add_command(import_events)


def shop_option(domain: str) -> Shop:
    """The installed shop a `--shop` option names, or a usage error."""
    try:
        shop = get_shop(normalize_shop_domain(domain))
    except InvalidShopDomain as error:
        raise click.BadParameter(str(error), param_hint="--shop") from error
    if shop is None:
        raise click.BadParameter(f"no installed shop {domain}", param_hint="--shop")
    return shop


def print_preview(job: ImportJob) -> None:
    """The preview's counts and first row errors, as every import command prints them."""
    preview = (job.summary or {}).get("preview", {})
    click.echo(f"{job.filename}: {preview.get('rows', 0):,} rows")
    columns = ", ".join(f"{name} ← {header!r}" for name, header in preview["columns"].items())
    click.echo(f"columns: {columns}")
    if job.kind == POINTS and preview.get("points_mode") == "set":
        click.echo(
            f"{preview['valid_rows']:,} rows set the balance of {preview['customers']:,} "
            f"customers ({preview['points_total']:+,} points in all, {preview['unchanged']:,} "
            f"already right); {preview['error_rows']:,} rows rejected"
        )
    elif job.kind == POINTS:
        click.echo(
            f"{preview['valid_rows']:,} rows add {preview['points_total']:,} points to "
            f"{preview['customers']:,} customers; {preview['error_rows']:,} rows rejected"
        )
    elif job.kind == PEOPLE:
        for item in preview["attributes"]:
            mixed = " (mixed types: stored as text)" if item["mixed"] else ""
            click.echo(f"  {item['name']}: {item['stored_as']}{mixed}")
        click.echo(
            f"{preview['created']:,} new contacts, {preview['updated']:,} customers updated, "
            f"{preview['unchanged']:,} unchanged; {preview['error_rows']:,} rows rejected"
        )
    elif job.kind == EVENTS:
        _print_events(preview)
    else:
        click.echo(
            f"{preview['created']:,} new contacts, {preview['updated']:,} updated, "
            f"{preview['unchanged']:,} unchanged, {preview['added_to_segment']:,} added to the "
            f"segment; {preview['error_rows']:,} rows rejected"
        )
    for error in row_errors(job, limit=20):
        click.echo(
            f"  row {error.row_number}: {error.column or '-'} {error.value!r}: {error.reason}"
        )
    if preview["error_rows"] > 20:
        click.echo(f"  … and {preview['error_rows'] - 20:,} more")
    if (job.summary or {}).get("duplicate_of"):
        click.echo(f"warning: identical to import #{job.summary['duplicate_of']}")


def _run(
    shop: Shop,
    kind: str,
    file: Path,
    *,
    dry_run: bool,
    skip_errors: bool,
    allow_duplicate: bool,
    segment_name: str | None = None,
    update_existing: bool = False,
    points_mode: str | None = None,
    people: dict[str, str] | None = None,
    timezone: str | None = None,
) -> None:
    try:
        segment = get_or_create_segment(shop, segment_name) if segment_name is not None else None
        with open(file, "rb") as stream:
            job = create_import(
                shop,
                kind,
                file.name,
                stream,
                segment=segment,
                update_existing=update_existing,
                points_mode=points_mode,
                people=people,
                timezone=timezone,
            )
    except (ImportFileError, InvalidSegmentName) as error:
        raise click.ClickException(str(error)) from error
    preview = (job.summary or {}).get("preview", {})
    if preview.get("needs_points_mode"):
        path = Path(job.file_path)
        db.session.rollback()
        path.unlink(missing_ok=True)
        raise click.ClickException(
            f"the column {preview['ambiguous_column']!r} could hold points to add or balances: "
            "run again with --points-mode add or --points-mode set"
        )
    print_preview(job)
    if dry_run:
        path = Path(job.file_path)
        db.session.rollback()
        path.unlink(missing_ok=True)
        click.echo("dry run: nothing was changed")
        return
    confirm_and_run(shop, job, skip_errors=skip_errors, allow_duplicate=allow_duplicate)


def confirm_and_run(
    shop: Shop, job: ImportJob, *, skip_errors: bool, allow_duplicate: bool
) -> None:
    """Confirm a previewed import and apply it here and now, printing the outcome."""
    try:
        # The command's --mode is the merchant's answer to "update existing customers?".
        confirm_import(
            shop,
            job,
            apply_with_errors=skip_errors,
            confirm_duplicate=allow_duplicate,
            confirm_updates=True,
        )
    except ImportStateError as error:
        db.session.commit()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    import_id = job.id
    outcome = run_import(import_id)
    db.session.expire_all()
    job = db.session.get(ImportJob, import_id)
    click.echo(
        f"import #{job.id} {outcome}: {job.applied_rows:,} rows applied, "
        f"{job.error_rows:,} rejected"
    )
    if job.error_message:
        raise click.ClickException(job.error_message)


def _print_events(preview: dict) -> None:
    click.echo(
        f"{preview['new_events']:,} new events, {preview['already_imported']:,} already "
        f"imported, {preview['repeated_rows']:,} repeated rows; {preview['error_rows']:,} rows "
        f"rejected; times without an offset read in {preview['timezone']}"
    )
    if preview.get("first_at"):
        click.echo(f"from {preview['first_at']} to {preview['last_at']} UTC")
    names = ", ".join(f"{name} ({count:,})" for name, count in preview["names"])
    more = preview["names_total"] - len(preview["names"])
    click.echo(f"events: {names}" + (f" and {more:,} more" if more > 0 else ""))


_common = [
    click.option("--shop", "shop_domain", required=True, help="the shop's myshopify domain"),
    click.option("--dry-run", is_flag=True, help="validate and print the preview only"),
    click.option(
        "--all-or-nothing",
        is_flag=True,
        help="import nothing if any row is rejected (default: import the valid rows)",
    ),
    click.option(
        "--allow-duplicate", is_flag=True, help="import a file identical to an earlier one"
    ),
    click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
]


def _with_common(command):
    for option in reversed(_common):
        command = option(command)
    return command


@click.command("import-points")
@click.option(
    "--points-mode",
    type=click.Choice(["add", "set"]),
    help="for a `points` or `balance` column: points to add, or the balance to set",
)
@_with_common
def import_points(
    points_mode: str | None,
    shop_domain: str,
    dry_run: bool,
    all_or_nothing: bool,
    allow_duplicate: bool,
    file: Path,
) -> None:
    """Add points from a CSV of shopify_id, points_to_add, description."""
    _run(
        shop_option(shop_domain),
        POINTS,
        file,
        dry_run=dry_run,
        skip_errors=not all_or_nothing,
        allow_duplicate=allow_duplicate,
        points_mode=points_mode,
    )


@click.command("import-contacts")
@click.option("--segment", "segment_name", required=True, help="static segment (made if new)")
@click.option("--update-existing", is_flag=True, help="update contacts that already exist")
@_with_common
def import_contacts(
    segment_name: str,
    update_existing: bool,
    shop_domain: str,
    dry_run: bool,
    all_or_nothing: bool,
    allow_duplicate: bool,
    file: Path,
) -> None:
    """Create or update contacts from a CSV and add them to a static segment."""
    _run(
        shop_option(shop_domain),
        CONTACTS,
        file,
        dry_run=dry_run,
        skip_errors=not all_or_nothing,
        allow_duplicate=allow_duplicate,
        segment_name=segment_name,
        update_existing=update_existing,
    )


@click.command("import-people")
@click.option(
    "--mode",
    type=click.Choice(["update", "create", "both"]),
    default="update",
    show_default=True,
    help="update existing customers, create new contacts (by email), or both",
)
@click.option(
    "--empty",
    type=click.Choice(["keep", "clear"]),
    default="keep",
    show_default=True,
    help="what an empty cell does to the stored value",
)
@_with_common
def import_people(
    mode: str,
    empty: str,
    shop_domain: str,
    dry_run: bool,
    all_or_nothing: bool,
    allow_duplicate: bool,
    file: Path,
) -> None:
    """Set customers' attributes from a CSV of shopify_id or email and any other columns."""
    _run(
        shop_option(shop_domain),
        PEOPLE,
        file,
        dry_run=dry_run,
        skip_errors=not all_or_nothing,
        allow_duplicate=allow_duplicate,
        people={"mode": mode, "empty": empty},
    )


@click.command("import-events")
@click.option(
    "--timezone",
    help="IANA timezone for timestamps without an offset (default: the shop's)",
)
@_with_common
def import_events(
    timezone: str | None,
    shop_domain: str,
    dry_run: bool,
    all_or_nothing: bool,
    allow_duplicate: bool,
    file: Path,
) -> None:
    """Add customer events from a CSV of shopify_id or email, event_name, timestamp."""
    _run(
        shop_option(shop_domain),
        EVENTS,
        file,
        dry_run=dry_run,
        skip_errors=not all_or_nothing,
        allow_duplicate=allow_duplicate,
        timezone=timezone,
    )
