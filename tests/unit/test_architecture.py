"""The house's shape, counted on the real import graph (imports inside functions included).

import-linter (`lint-imports` in bin/test) keeps the layers; these tests keep what a layers
contract cannot say: no circle anywhere, and the factory imported by entry points only.
"""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

import grimp
import pytest

PACKAGES = ("shopify_app", "webhooks", "demo", "shopify_double")
#: the modules that may build the app: entry points, never a job or a service.
ENTRY_POINTS = {"shopify_app.worker"}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # `if TYPE_CHECKING:` imports name a type for the checker; they run nothing.
    return grimp.build_graph(*PACKAGES, cache_dir=None, exclude_type_checking_imports=True)


def _package(module: str) -> str:
    """The capability (or platform part) a module belongs to: two levels, three in platform."""
    parts = module.split(".")
    depth = 3 if parts[:2] == ["shopify_app", "platform"] else 2
    return ".".join(parts[:depth]) if parts[0] == "shopify_app" else parts[0]


def _circle(edges: dict[str, set[str]]) -> list[str] | None:
    try:
        TopologicalSorter(edges).prepare()
    except CycleError as error:
        return list(error.args[1])
    return None


def test_no_module_imports_itself_in_a_circle(graph):
    edges = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    assert _circle(edges) is None


def test_no_two_packages_import_each_other(graph):
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        imported = {_package(m) for m in graph.find_modules_directly_imported_by(module)}
        edges.setdefault(_package(module), set()).update(imported - {_package(module)})
    assert _circle(edges) is None


def test_only_entry_points_import_the_factory(graph):
    factory_users = {
        module
        for module in graph.find_modules_that_directly_import("shopify_app")
        if any(
            d["line_contents"].startswith("from shopify_app import")
            and "create_app" in d["line_contents"]
            for d in graph.get_import_details(importer=module, imported="shopify_app")
        )
    }
    assert factory_users <= ENTRY_POINTS
