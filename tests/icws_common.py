"""What the ICWS test server's endpoints share: error answers, ``select`` projections, ``where``
filters and ``Range`` headers, as docs/facts.md#icws-users and docs/facts.md#icws-paging describe
them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Response, jsonify

#: ICWS answers at most this many items per request when properties are selected.
MAX_SELECTED_ITEMS = 200


def error(status: int, error_id: str, message: str) -> tuple[Response, int]:
    return jsonify({"errorId": error_id, "message": message}), status


def unauthorized() -> tuple[Response, int]:
    return jsonify({"message": "The session is not valid or has expired."}), 401


def lookup(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def project(record: dict[str, Any], select: str, known: set[str]) -> dict[str, Any]:
    """The configuration ID plus the selected dotted paths; null properties are omitted."""
    result: dict[str, Any] = {"configurationId": record["configurationId"]}
    for path in filter(None, (p.strip() for p in select.split(","))):
        if path.split(".")[0] not in known:
            raise ValueError(f"Unknown property {path!r} in select.")
        value = lookup(record, path)
        if value is None:
            continue
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if v is not None}
        target = result
        *parents, leaf = path.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return result


_CLAUSE = re.compile(r"\s*([A-Za-z][\w.]*)\s+(eq|sw|ct)\s+(.*?)\s*")


def where_filter(where: str) -> Callable[[dict[str, Any]], bool]:
    clauses = []
    for text in filter(None, where.split(",")):
        match = _CLAUSE.fullmatch(text)
        if not match:
            raise ValueError(f"Invalid where clause {text!r}.")
        path, op, value = match.groups()
        clauses.append((path, op, value.strip("'\"").casefold()))

    def matches(record: dict[str, Any]) -> bool:
        for path, op, value in clauses:
            found = lookup(record, path)
            text = str(found).casefold() if found is not None else ""
            if not {"eq": text == value, "sw": text.startswith(value),
                    "ct": value in text}[op]:
                return False
        return True

    return matches


def item_range(header: str | None, total: int) -> tuple[int, int]:
    if header is None:
        return 0, max(total - 1, 0)
    match = re.fullmatch(r"items=(\d+)-(\d+)", header.strip())
    if not match or int(match.group(1)) > int(match.group(2)):
        raise ValueError(f"Invalid Range header {header!r}.")
    return int(match.group(1)), int(match.group(2))
