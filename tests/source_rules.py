"""Read the project's own source (not tests, not migrations) for the few rules a test should hold.

Parsed with ``ast``, so a comparison split over lines or written the other way round is found too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("blogorder", "purchases", "articles", "queueing")
WRITE_METHODS = frozenset({"update", "create", "get_or_create", "update_or_create"})


def project_files() -> Iterator[tuple[str, ast.Module]]:
    """(path relative to the repository, parsed module) of every project source file."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), filename=str(path))


def _where(path: str, node: ast.AST) -> str:
    return f"{path}:{getattr(node, 'lineno', '?')}: {ast.unparse(node)}"


def _allowed(path: str, allowed: set[str]) -> bool:
    """``allowed`` holds files, and folders ending in "/"."""
    return path in allowed or any(path.startswith(entry) for entry in allowed if entry.endswith("/"))


def comparisons_of(attr: str, *, allowed: set[str], foreign: set[str]) -> list[str]:
    """Every ``<x>.<attr> ==/!=/in/not in/is …`` outside the ``allowed`` files and folders.

    ``foreign`` names receivers whose ``<attr>`` is someone else's (a Stripe refund's status).
    """
    found = []
    for path, module in project_files():
        if _allowed(path, allowed):
            continue
        for node in ast.walk(module):
            if not isinstance(node, ast.Compare):
                continue
            for operand in (node.left, *node.comparators):
                if (
                    isinstance(operand, ast.Attribute)
                    and operand.attr == attr
                    and ast.unparse(operand.value) not in foreign
                ):
                    found.append(_where(path, node))
    return found


def writes_of(attr: str, *, allowed: set[str]) -> list[str]:
    """Every ``<x>.<attr> = …`` and ``….update/create(<attr>=…)`` outside the ``allowed`` files and folders."""
    found = []
    for path, module in project_files():
        if _allowed(path, allowed):
            continue
        for node in ast.walk(module):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr == attr for t in targets):
                found.append(_where(path, node))
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in WRITE_METHODS
                and any(keyword.arg == attr for keyword in node.keywords)
            ):
                found.append(_where(path, node))
    return found
