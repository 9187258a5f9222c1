"""What one sync pass did, for people (`summary`) and for programs (`to_json`).

The JSON document is stable: `SCHEMA_VERSION` changes when a key changes meaning or goes away
(new keys may appear). States are enums (`PassOutcome`, the results in `RESULTS`, the plan's
action kinds), counts are numbers; sentences appear only as ``message`` fields beside them. A
pass that failed before it could plan is a document too (`failed_json`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from idp.sync.apply import RESULTS, Outcome
from idp.sync.objects.actions import ObjectReport
from idp.sync.plan import Plan

SCHEMA_VERSION = 1


class PassOutcome(StrEnum):
    COMPLETED = "completed"  # every user done
    ERRORS = "completed_with_errors"  # some users ended in Error, or the source had bad entries
    HELD = "held"  # removals held back by sync.max_deactivations; everything else done
    STOPPED = "stopped"  # ended early: credentials refused, connection lost, asked to stop
    FAILED = "failed"  # could not even plan: source unreadable, Genesys Cloud unreachable


#: `sync apply`'s exit code for each outcome.
EXIT_CODES = {PassOutcome.COMPLETED: 0, PassOutcome.ERRORS: 1, PassOutcome.STOPPED: 1,
              PassOutcome.FAILED: 1, PassOutcome.HELD: 3}

#: Results that leave a user needing an administrator's look, listed at the end of a pass.
ATTENTION = ("error", "conflict", "skipped")


@dataclass
class PassReport:
    plan: Plan
    outcomes: list[Outcome] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)  # during this pass
    seconds: float = 0.0
    error: str = ""  # what ended the pass early, if anything
    error_type: str = ""  # its kind: the exception's class name, or Stopped
    objects: ObjectReport | None = None  # the object pass after the users (platform_objects)

    def results(self) -> dict[str, int]:
        counts = dict.fromkeys(RESULTS, 0)
        for outcome in self.outcomes:
            counts[outcome.result] += 1
        return counts

    @property
    def outcome(self) -> PassOutcome:
        objects = self.objects or ObjectReport()
        if self.error or objects.error:
            return PassOutcome.STOPPED
        if self.plan.held is not None or objects.held:
            return PassOutcome.HELD
        if self.results()["error"] or self.plan.source_problems or objects.errors \
                or objects.problems:
            return PassOutcome.ERRORS
        return PassOutcome.COMPLETED

    @property
    def writes(self) -> int:
        return sum(o.writes for o in self.outcomes)

    def attention(self) -> list[Outcome]:
        """Users that ended in Error, Conflict or Not synced in this pass, by user ID."""
        return sorted((o for o in self.outcomes if o.result in ATTENTION),
                      key=lambda o: (ATTENTION.index(o.result), o.action.user_id.casefold()))

    def summary(self) -> str:
        shown = ", ".join(f"{n} {r}" for r, n in self.results().items() if n)
        retried = self.requests.get("retried", 0)
        parts = [shown or "nothing to do", f"{self.plan.unchanged} unchanged",
                 f"{self.writes} writes",
                 f"{sum(self.requests.values()) - retried} requests "
                 f"({retried} retried, {self.requests.get('failed', 0)} failed)",
                 f"{self.seconds:.1f} s"]
        text = "; ".join(parts)
        if self.error:
            text += f"; stopped: {self.error}"
        return f"{text}; {self.objects.summary()}" if self.objects is not None else text

    def to_json(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "schema": SCHEMA_VERSION, "outcome": str(self.outcome),
            "error": {"type": self.error_type, "message": self.error} if self.error else None,
            "held": plan.held.to_json() if plan.held is not None else None,
            "results": self.results(), "unchanged": plan.unchanged,
            "source_users": plan.source_users, "out_of_scope": plan.out_of_scope,
            "without_email": plan.without_email, "writes": self.writes,
            "requests": self.requests, "seconds": round(self.seconds, 3),
            "notes": plan.notes, "source_problems": plan.source_problems,
            "users": [{"user_id": o.action.user_id, "email": o.action.email,
                       "action": str(o.action.kind), "result": o.result,
                       "message": o.message or o.action.reason, "genesys_id": o.genesys_id,
                       "changes": [{"field": c.field, "old": c.old, "new": c.new}
                                   for c in o.action.changes],
                       "warnings": list(o.action.warnings)} for o in self.outcomes],
            "objects": self.objects.to_json() if self.objects is not None else None,
        }


def failed_json(error: Exception) -> dict[str, Any]:
    """The document of a pass (or plan) that could not even begin."""
    return {"schema": SCHEMA_VERSION, "outcome": str(PassOutcome.FAILED),
            "error": {"type": type(error).__name__, "message": str(error)}}
