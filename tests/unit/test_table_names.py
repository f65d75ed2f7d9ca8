"""Raw SQL names its tables and columns through the models, so a rename cannot leave it behind."""

from __future__ import annotations

import pytest

from shopify_app.platform.db import TableNames
from shopify_app.platform.models import ImportRowError, PointsEntry


def test_names_come_from_the_model_and_are_quoted_where_postgresql_needs_it():
    errors = TableNames(ImportRowError)
    assert str(errors) == "import_row_errors"
    assert errors.columns("import_id", "column", "raw") == 'import_id, "column", raw'


def test_a_column_the_model_does_not_have_fails_when_the_sql_is_built():
    with pytest.raises(AttributeError, match="points_entries has no column 'points'"):
        TableNames(PointsEntry).points  # noqa: B018
