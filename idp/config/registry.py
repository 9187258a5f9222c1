"""How a setting is declared: its default, its help text and the values it allows (`setting`),
and where a secret is read from (`Secret`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idp.errors import ConfigError


@dataclass(frozen=True)
class Secret:
    """Where a secret comes from; `reveal()` reads it at the moment it is needed."""

    env: str | None = None
    file: Path | None = None

    def reveal(self) -> str:
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise ConfigError(f"environment variable {self.env} is not set")
            return value
        if self.file is not None:
            try:
                return self.file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"cannot read secret file {self.file}: {exc.strerror}") from None
        return ""

    def __repr__(self) -> str:  # never print a value, only where it lives
        return f"Secret(env={self.env!r})" if self.env else f"Secret(file={str(self.file)!r})"


def setting(default: Any, help: str, *, choices: tuple[str, ...] = (),
            min: int | None = None, max: int | None = None) -> Any:  # noqa: A002
    """A dataclass field that carries its help text, and the values it allows (`choices` for a
    string; `min`, `max` for a number), for loading, the docs and error messages."""
    metadata = {"help": help, "choices": choices, "min": min, "max": max}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)
