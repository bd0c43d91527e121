"""Model fields shared by apps: the materialised path and its subtree lookup."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.lookups import Lookup
from django.db.models.sql.compiler import SQLCompiler

PATH_SEPARATOR = "."


class PathField(models.CharField):
    """A materialised path such as ``370102.001.001.003.``: each segment ends with a dot.

    ``path__under=prefix`` selects the node at ``prefix`` and everything below it with one
    indexed range (SQLite) or pattern (PostgreSQL, ``varchar_pattern_ops``) scan.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 255)
        super().__init__(*args, **kwargs)


def path_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


@PathField.register_lookup
class Under(Lookup):
    lookup_name = "under"
    prepare_rhs = False

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        prefix = str(self.rhs)
        if not prefix:
            return "1=1", []
        # Binary collation on SQLite: a half-open range is exactly "starts with".
        return f"({lhs} >= %s AND {lhs} < %s)", [*lhs_params, prefix, path_upper_bound(prefix)]

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        prefix = str(self.rhs)
        if not prefix:
            return "TRUE", []
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"{lhs} LIKE %s", [*lhs_params, escaped + "%"]


def is_under(path: str, prefix: str) -> bool:
    return path.startswith(prefix)


def collapse_prefixes(paths: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Drop every path that lies under another one in the list."""
    kept: list[str] = []
    for p in sorted(set(paths)):
        if not kept or not p.startswith(kept[-1]):
            kept.append(p)
    return tuple(kept)
