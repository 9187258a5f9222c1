"""What an object pass does, for people and programs, and the one place its writes go through.

A plan and a pass run the same code (`Recorder`): with ``dry`` the writes are only recorded
(``planned``), so `sync plan` shows exactly what `sync apply` would send; reads of Genesys
Cloud happen in both. A write that fails is recorded as an error with its message and the pass
goes on with the next object; what no object could get past (credentials refused, a missing
permission, the connection lost) ends the pass (`Fatal`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from idp.errors import GenesysAuthError, GenesysError, GenesysUnavailable, PlatformError
from idp.genesys.http import GenesysApi
from idp.sync.guard import Held

T = TypeVar("T")

#: Results of an action.
PLANNED, DONE, FAILED, HELD = "planned", "done", "error", "held"


@dataclass(frozen=True)
class ObjectAction:
    kind: str  # queue, skill, language, wrapup, members, queue_codes, user
    verb: str  # create, link, rename, delete, add, remove, set, conflict, forget, hold
    name: str  # the object's name (or the user's id)
    detail: str = ""
    result: str = PLANNED
    requests: int = 0  # writes it took

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "action": self.verb, "name": self.name,
                "detail": self.detail, "result": self.result}

    def line(self) -> str:
        text = f"{self.verb} {self.kind.replace('_', ' ')} {self.name}"
        return f"{text}: {self.detail}" if self.detail else text


class Fatal(Exception):
    """Ends the object pass: no object could get past `error`."""

    def __init__(self, error: GenesysError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class Recorder:
    dry: bool
    api: GenesysApi | None = None  # to tell a lost connection from one failed request
    actions: list[ObjectAction] = field(default_factory=list)

    def note(self, kind: str, verb: str, name: str, detail: str = "",
             result: str = DONE) -> None:
        """An action that sends nothing (a conflict, a forgotten row, a held deletion)."""
        self.actions.append(ObjectAction(kind, verb, name, detail, result))

    def write(self, kind: str, verb: str, name: str, detail: str,
              send: Callable[[], T]) -> tuple[bool, T | None]:
        """(whether it was done, what `send` returned); only recorded when dry."""
        if self.dry:
            self.actions.append(ObjectAction(kind, verb, name, detail, PLANNED))
            return False, None
        try:
            value = send()
        except GenesysError as exc:
            self.failure(kind, verb, name, exc, detail)
            return False, None
        self.done(kind, verb, name, detail)
        return True, value

    def done(self, kind: str, verb: str, name: str, detail: str = "") -> None:
        self.actions.append(ObjectAction(kind, verb, name, detail, DONE, 1))

    def failure(self, kind: str, verb: str, name: str, exc: GenesysError,
                detail: str = "") -> None:
        """A write failed: recorded, unless no other object could get past it (`Fatal`)."""
        self._fatal(exc)
        self.actions.append(ObjectAction(kind, verb, name,
                                         f"{detail}: {exc}" if detail else str(exc), FAILED))

    def read(self, read: Callable[[], T]) -> T:
        """A read of Genesys Cloud (in plans too); a failure ends the pass."""
        try:
            return read()
        except GenesysError as exc:
            raise Fatal(exc) from None

    def _fatal(self, exc: GenesysError) -> None:
        if isinstance(exc, GenesysAuthError) or (isinstance(exc, PlatformError)
                                                  and exc.genesys_status == 403):
            raise Fatal(exc) from None
        if isinstance(exc, GenesysUnavailable) and self.api is not None \
                and self.api.connection_lost:
            raise Fatal(exc) from None

    def failed(self) -> int:
        return sum(1 for a in self.actions if a.result == FAILED)


@dataclass
class ObjectReport:
    """One object pass (or plan): its actions, the source's problems, what was held."""

    actions: list[ObjectAction] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    #: kind -> (synced, wanted): "Workgroups 12 / 12 synced"
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    error: str = ""  # what ended the pass early

    @property
    def errors(self) -> int:
        return sum(1 for a in self.actions if a.result == FAILED)

    @property
    def writes(self) -> int:
        return sum(1 for a in self.actions if a.result in (PLANNED, DONE)
                   and a.verb not in ("conflict", "forget", "hold", "link"))

    def summary(self) -> str:
        done = [a for a in self.actions if a.result == DONE and a.verb not in ("forget",)]
        parts = [f"{len(done)} object changes"]
        if self.errors:
            parts.append(f"{self.errors} failed")
        if self.held:
            parts.append(f"{sum(h.removals for h in self.held)} deletions held")
        if self.problems:
            parts.append(f"{len(self.problems)} source problems")
        text = "objects: " + ", ".join(parts)
        return f"{text}; stopped: {self.error}" if self.error else text

    def to_json(self) -> dict[str, Any]:
        return {"actions": [a.to_json() for a in self.actions], "problems": self.problems,
                "notes": self.notes, "held": [h.to_json() for h in self.held],
                "counts": {k: {"synced": s, "objects": n} for k, (s, n) in self.counts.items()},
                "errors": self.errors, "error": {"message": self.error} if self.error else None}
