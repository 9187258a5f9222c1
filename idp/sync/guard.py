"""No mass deprovisioning by accident: how many Genesys Cloud users one pass may deactivate.

An export cut short, a CIC answering short pages, a scope rule typed wrong or a second
installation with the same link authority all look, to a sync, like users who left: each would
deactivate most of an organization in one pass, and every one of them is an agent who cannot
log on. So a pass that would deactivate (or delete) more than ``sync.max_deactivations`` users,
or more than ``sync.max_deactivations_percent`` of the linked active users when that is set,
deactivates nobody. It still creates and updates, ends with a non-zero exit code, and the state
database shows the pass as held until a pass runs within the limit: the source was corrected, or
an administrator who checked it runs ``cic-sts sync apply --allow-deactivations N``. Entra ID's
"accidental deletions prevention" works the same way.

The object sync (docs/sync-objects.md) bounds its removals the same way, family by family, each
with an allowance of its own (``--allow-deletions queues=25``): `allowance` names it, so that
approving one family approves nothing else, and ``--allow-deactivations`` stays the users' own.

Why 10 by default: every accident above removes tens to thousands of users at once, while the
leavers of one pass (minutes to a day apart) of a contact center up to a few thousand agents are
fewer; a held pass costs one command, a wrong one a morning without agents. Larger organizations
raise it, or set the percentage.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

#: Which limit held a pass back.
By = Literal["max_deactivations", "max_deactivations_percent", "allow_deactivations",
             "max_removals"]


@dataclass(frozen=True)
class Limit:
    count: int = 10  # sync.max_deactivations (or, with setting = "max_removals", that one)
    percent: int = 0  # sync.max_deactivations_percent; 0: not used
    allowed: int | None = None  # the allowance: this pass may make up to N
    allowance: str = ""  # "": --allow-deactivations N; else --allow-deletions <allowance>=N
    setting: By = "max_deactivations"  # the setting `count` comes from

    def check(self, removals: int, linked: int, verb: str = "deactivated", *,
              listed: bool = False, noun: str = "linked users") -> Held | None:
        """None if a pass may make `removals` removals among `linked` linked users (or the
        objects `noun` names: "synced queues"). `listed`: whether the pass listed Genesys
        Cloud (the hold then says to run `--full`)."""
        ceiling = self.count
        by: By = self.setting
        part = math.floor(linked * self.percent / 100)
        if self.percent and part < ceiling:
            ceiling, by = part, "max_deactivations_percent"
        if removals <= ceiling:
            return None
        if self.allowed is not None:
            if removals <= self.allowed:
                return None
            ceiling, by = self.allowed, "allow_deactivations"
        return Held(removals, linked, ceiling, by, verb, self.percent, listed, noun,
                    self.allowance)


@dataclass(frozen=True)
class Held:
    """A pass's removals held back: how many, of how many linked users, and which limit."""

    removals: int
    linked: int
    limit: int
    by: By
    verb: str = "deactivated"  # or "deleted"
    percent: int = 0  # for by = max_deactivations_percent
    listed: bool = False  # found by a pass that listed Genesys Cloud: only such a pass sees them
    noun: str = "linked users"  # or "synced queues", "synced skills", ...
    allowance: str = ""  # the object family's allowance name ("queues"); "": users

    def option(self, count: int) -> str:
        """The option of `sync apply` that allows `count` of these."""
        if self.allowance:
            return f"--allow-deletions {self.allowance}={count}"
        return f"--allow-deactivations {count}"

    def message(self) -> str:
        if self.by == "allow_deactivations":
            limit = f"more than the {self.limit} allowed by {self.option(self.limit)}"
        elif self.by == "max_deactivations_percent":
            limit = f"more than sync.max_deactivations_percent = {self.percent} % ({self.limit})"
        else:
            limit = f"more than sync.{self.by} = {self.limit}"
        full = "--full " if self.listed else ""
        return (f"{self.removals} of {self.linked} {self.noun} would be {self.verb}, {limit}; "
                f"check the source, then run `cic-sts sync apply {full}"
                f"{self.option(self.removals)}`")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.noun == "linked users":  # users' holds keep the document they always had
            del data["noun"], data["allowance"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Held:
        return cls(**data)
