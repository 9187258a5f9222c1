"""The vocabulary of a pass: what it may do to a user (`Kind`, `Action`), the options it runs
with, and the plan it makes. `idp.sync.plan` decides; `idp.sync.apply` carries out."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from idp.sync.guard import Held, Limit
from idp.sync.mapping import Desired, FieldChange
from idp.sync.objects.actions import ObjectReport
from idp.sync.scope import Scope
from idp.sync.view import Remote


class Kind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    ADOPT = "adopt"  # take over a Genesys Cloud user the sync did not create
    LINK = "link"  # Genesys Cloud already has it right; only our state changes
    DEACTIVATE = "deactivate"
    DELETE = "delete"
    SKIP = "skip"  # not synced, with the reason
    CONFLICT = "conflict"  # not synced: someone else's Genesys Cloud user is in the way
    FORGET = "forget"  # gone from CIC and never in Genesys Cloud: only our state row goes
    HOLD = "hold"  # a removal held back: the pass would remove more users than its limit


#: Kinds that send requests to Genesys Cloud, in the order a pass carries them out: removals
#: first and renames before creates, so that an e-mail given up is free to be taken.
PHASES = ((Kind.DEACTIVATE, Kind.DELETE), (Kind.UPDATE, Kind.ADOPT, Kind.LINK), (Kind.CREATE,))

#: Kinds that remove a Genesys Cloud user (and count against the pass's limit).
REMOVALS = (Kind.DEACTIVATE, Kind.DELETE)


@dataclass(frozen=True)
class Action:
    kind: Kind
    user_id: str
    email: str = ""
    reason: str = ""
    changes: tuple[FieldChange, ...] = ()
    warnings: tuple[str, ...] = ()
    desired: Desired | None = None
    remote: Remote | None = None
    in_cic: bool = True  # for removals: whether the CIC user still exists


@dataclass(frozen=True)
class Options:
    authority: str = "cic-sts"
    default_country: str = ""
    deactivate_missing: bool = True
    delete_instead_of_deactivate: bool = False
    adopt_existing: bool = False
    page_size: int = 25
    force: bool = False  # Force Complete Sync: every field of every user is sent
    full: bool = False  # compare with a full listing of Genesys Cloud (implied by force)
    limit: Limit = field(default_factory=Limit)  # removals one pass may make
    scope: Scope = field(default_factory=Scope)
    max_display_name: int = 255
    only: str | None = None  # one CIC user ID: a pass for that user alone (provision on demand)

    @property
    def removal(self) -> Kind:
        """What a removal is: a deactivation, or a deletion if so configured."""
        return Kind.DELETE if self.delete_instead_of_deactivate else Kind.DEACTIVATE

    @property
    def removal_verb(self) -> str:
        return "deleted" if self.delete_instead_of_deactivate else "deactivated"


@dataclass
class Plan:
    actions: list[Action]
    unchanged: int
    source_users: int
    listed: bool  # whether Genesys Cloud was listed in full (else looked at user by user)
    notes: list[str] = field(default_factory=list)
    source_problems: list[str] = field(default_factory=list)  # entries the source could not read
    #: user_key(CIC user ID) -> the e-mail (casefolded) each syncable CIC user should have
    targets: dict[str, str] = field(default_factory=dict)
    held: Held | None = None  # set when the pass's removals were held back
    out_of_scope: int = 0  # CIC users outside sync.include / sync.exclude
    without_email: int = 0  # CIC users in scope without a business e-mail

    @property
    def syncable(self) -> set[str]:
        """user_key of every CIC user that can sync: in scope, with a usable business e-mail
        of its own ("User Sync N / M")."""
        return set(self.targets)

    @property
    def cannot_sync(self) -> int:
        """CIC users in scope with a business e-mail that still cannot sync: it is not an
        address or another user's too, or a value Genesys Cloud would refuse."""
        return self.source_users - self.without_email - len(self.targets)
    #: what the object sync would do (sync.platform_objects), in `sync plan`
    objects: ObjectReport | None = None

    def count(self, kind: Kind) -> int:
        return sum(1 for a in self.actions if a.kind == kind)

    @property
    def writes(self) -> int:
        """Actions that will send a write request (before retries and re-reads)."""
        return sum(1 for a in self.actions if a.kind in (Kind.CREATE, Kind.UPDATE, Kind.ADOPT,
                                                         Kind.DEACTIVATE, Kind.DELETE))
