"""Timestamps as the SQLite files store them: ISO 8601 in UTC, to the second."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def utc_now() -> str:
    return utc_text(datetime.now(UTC))
