"""Dependencies: the locks match the edited files, and every pin is there because code uses it.

requirements.txt is what production runs and requirements-dev.txt what development adds; bin/lock
turns them into requirements.lock and requirements-dev.lock, which bin/setup installs.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_CODE = ("app.py", "gunicorn.conf.py", "shopify_app", "webhooks", "migrations")
DEVELOPMENT_CODE = ("tests", "bench", "shopify_double", "demo")
#: pins no module imports by name, each with the reason it is there.
USED_WITHOUT_IMPORT = {
    "jinja2": "the template engine Flask renders every page and email with",
    "ruff": "a command (bin/test, pre-commit), not a library",
    "import-linter": "a command (bin/test: lint-imports and the contracts in pyproject.toml)",
}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+)", re.MULTILINE)


def _name(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _pins(path: str) -> dict[str, str]:
    return {_name(n): v for n, v in _PIN.findall((ROOT / path).read_text(encoding="utf-8"))}


def _imports(*places: str) -> dict[str, set[str]]:
    """Top-level module names imported anywhere in these files, function bodies included."""
    found: dict[str, set[str]] = {}
    for place in places:
        target = ROOT / place
        for path in [target] if target.is_file() else sorted(target.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = found.setdefault(path.relative_to(ROOT).as_posix(), set())
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module.split(".")[0])
    return found


@cache
def _owners() -> dict[str, list[str]]:
    return packages_distributions()


def _distributions(modules: set[str]) -> set[str]:
    return {_name(d) for module in modules for d in _owners().get(module, ())}


@pytest.mark.parametrize(
    ("edited", "lock"),
    [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")],
)
def test_each_lock_pins_what_its_file_asks_for_with_hashes(edited, lock):
    wanted, locked = _pins(edited), _pins(lock)
    assert wanted, f"{edited} pins nothing"
    stale = {n: v for n, v in wanted.items() if locked.get(n) != v}
    assert not stale, f"{lock} is out of date with {edited}: run bin/lock ({stale})"
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock).read_text(encoding="utf-8"))
    unhashed = [b.split()[0] for b in blocks if _PIN.match(b) and "--hash=sha256:" not in b]
    assert not unhashed


def test_the_two_locks_agree_on_every_shared_package():
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert {n: v for n, v in dev.items() if runtime.get(n, v) != v} == {}


def test_every_runtime_pin_is_imported_by_the_runtime_code():
    imported = _distributions(set().union(*_imports(*RUNTIME_CODE).values()))
    unused = set(_pins("requirements.txt")) - imported - set(USED_WITHOUT_IMPORT)
    assert not unused, f"pinned in requirements.txt, imported by no runtime module: {unused}"


def test_every_development_pin_is_imported_by_tests_benchmarks_or_the_double():
    imported = _distributions(set().union(*_imports(*DEVELOPMENT_CODE).values()))
    unused = set(_pins("requirements-dev.txt")) - imported - set(USED_WITHOUT_IMPORT)
    assert not unused, f"pinned in requirements-dev.txt, imported by nothing: {unused}"


def test_runtime_code_imports_no_development_package():
    development = set(_pins("requirements-dev.txt"))
    leaks = {}
    for path, modules in _imports(*RUNTIME_CODE).items():
        found = {m for m in modules if _distributions({m}) & development}
        if found:
            leaks[path] = found
    assert not leaks, f"production would lack these (they are in requirements-dev.txt): {leaks}"
