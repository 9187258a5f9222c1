"""Which CIC users the sync manages: ``sync.include`` and ``sync.exclude``.

A rule is a user ID pattern (shell-style: ``*``, ``?``, ``[...]``) or ``workgroup:PATTERN``,
which matches users in a workgroup whose name matches; both without letter case, as CIC
compares names. With include rules, only users matching one of them are in scope; a user
matching an exclude rule is out of scope whatever include says. Service accounts and lab users
stay out this way. A user leaving the scope is treated like a removed one (its Genesys Cloud
user is deactivated, within the pass's limit), with the rule as the reason. The demo's user
(`make run`, whose password the README publishes) is never in scope, whatever the source.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from idp.config import SCOPE_WORKGROUP
from idp.demo.identity import is_demo_user
from idp.users import CicUser


@dataclass(frozen=True)
class Rule:
    text: str  # as configured, for messages
    pattern: str  # casefolded
    workgroup: bool

    @classmethod
    def of(cls, text: str) -> Rule:
        workgroup = text.startswith(SCOPE_WORKGROUP)
        return cls(text, text.removeprefix(SCOPE_WORKGROUP).strip().casefold(), workgroup)

    def matches(self, user: CicUser) -> bool:
        if self.workgroup:
            return any(fnmatchcase(name.casefold(), self.pattern) for name in user.workgroups)
        return fnmatchcase(user.user_id.casefold(), self.pattern)


@dataclass(frozen=True)
class Scope:
    include: tuple[Rule, ...] = ()
    exclude: tuple[Rule, ...] = ()

    @classmethod
    def of(cls, include: list[str], exclude: list[str]) -> Scope:
        return cls(tuple(map(Rule.of, include)), tuple(map(Rule.of, exclude)))

    @property
    def needs_workgroups(self) -> bool:
        return any(rule.workgroup for rule in (*self.include, *self.exclude))

    def why_out(self, user: CicUser) -> str | None:
        """Why `user` is out of scope, or None if it is in."""
        if is_demo_user(user):
            return "out of scope: the demo's user (`make run`) is never synced"
        if self.include and not any(rule.matches(user) for rule in self.include):
            return "out of scope: matches none of sync.include"
        for rule in self.exclude:
            if rule.matches(user):
                return f"out of scope: sync.exclude {rule.text!r}"
        return None
