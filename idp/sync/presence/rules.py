"""Which Genesys Cloud presence a CIC status becomes: the vendor's table, as data.

The built-in table (``default_rules.toml`` beside this module, which explains the form) is the
one of the Genesys Cloud for PureConnect Administrator's Guide; ``sync.presence_rules`` names a
file of the same form whose rules are tried first, for custom status messages. A status is
judged by its status message as CIC configures it (`idp.cic.status.StatusMessage`): its ID and
text, its Status Group, and "allows ACD calls", "is ACW", "is Do Not Disturb"; a status CIC does
not list (yet) has no group and no flags.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from idp.cic.status import StatusMessage, UserStatus
from idp.errors import ConfigError

_CONDITIONS = {"status", "group", "not_group", "acd", "acw", "dnd", "logged_in"}


def normal(text: str) -> str:
    """How status texts compare: no letter case, no outer spaces, no final period."""
    return " ".join(text.casefold().split()).rstrip(".").strip()


@dataclass(frozen=True)
class Target:
    """A presence to set: a system presence or a definition (id or label), and whether the
    user is out of the office."""

    presence: str
    out_of_office: bool = False


@dataclass(frozen=True)
class Clause:
    statuses: frozenset[str] = frozenset()  # normal()-ised ids or message texts
    groups: frozenset[str] = frozenset()  # casefolded
    not_groups: frozenset[str] = frozenset()
    acd: bool | None = None
    acw: bool | None = None
    dnd: bool | None = None
    logged_in: bool | None = None

    def matches(self, message: StatusMessage, status: UserStatus) -> bool:
        if self.statuses and not ({normal(message.status_id), normal(message.text)}
                                  & self.statuses):
            return False
        group = message.group.casefold()
        if self.groups and group not in self.groups:
            return False
        if group in self.not_groups:
            return False
        for wanted, have in ((self.acd, message.acd), (self.acw, message.acw),
                             (self.dnd, message.dnd)):
            if wanted is not None and wanted != have:
                return False
        # An agent whose logon CIC did not say (loggedIn not delivered) matches no logged_in
        # condition: the vendor's table applies to it as it is.
        return self.logged_in is None or self.logged_in == status.logged_in


@dataclass(frozen=True)
class Rule:
    target: Target
    when: tuple[Clause, ...]


class Rules:
    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules

    @classmethod
    def load(cls, extra: Path | None = None) -> Rules:
        """The administrator's rules (if any), then the built-in table."""
        table = resources.files("idp.sync.presence").joinpath("default_rules.toml")
        builtin = table.read_text("utf-8")
        rules = parse(builtin, "the built-in presence table")
        if extra is not None:
            try:
                text = extra.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"sync.presence_rules: cannot read {extra}: "
                                  f"{exc.strerror or exc}") from None
            rules = parse(text, f"sync.presence_rules ({extra})") + rules
        return cls(rules)

    def target(self, status: UserStatus, message: StatusMessage | None) -> Target:
        """The presence of `status`; `message` is its status message, if CIC listed it."""
        judged = message or StatusMessage(status.status_id, status.status_id)
        for rule in self.rules:
            if any(clause.matches(judged, status) for clause in rule.when):
                return rule.target
        return Target("Available")

    def without_out_of_office(self) -> Rules:
        """The same rules, none of them asking for the out-of-office flag."""
        return Rules([Rule(Target(rule.target.presence), rule.when) for rule in self.rules])

    def presences(self) -> set[str]:
        """Every presence the rules may ask for (to check them against Genesys Cloud)."""
        return {rule.target.presence for rule in self.rules}


def parse(text: str, where: str) -> list[Rule]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    entries = data.get("rule", [])
    if set(data) - {"rule"} or not isinstance(entries, list):
        raise ConfigError(f"{where}: expected [[rule]] tables only")
    return [_rule(entry, f"{where}, rule {n}") for n, entry in enumerate(entries, 1)]


def _rule(entry: Any, where: str) -> Rule:
    if not isinstance(entry, dict) or set(entry) - {"presence", "out_of_office", "when"}:
        raise ConfigError(f"{where}: a rule has presence, out_of_office and when")
    presence, ooo, when = entry.get("presence"), entry.get("out_of_office", False), \
        entry.get("when")
    if not isinstance(presence, str) or not presence.strip():
        raise ConfigError(f"{where}: presence must name a presence (Available, Busy, ...)")
    if not isinstance(ooo, bool):
        raise ConfigError(f"{where}: out_of_office must be true or false")
    if not isinstance(when, list) or not when:
        raise ConfigError(f"{where}: when must be a list of conditions, e.g. "
                          "when = [{ status = [\"Coaching\"] }]")
    return Rule(Target(presence.strip(), ooo), tuple(_clause(c, where) for c in when))


def _clause(clause: Any, where: str) -> Clause:
    if not isinstance(clause, dict) or not clause or set(clause) - _CONDITIONS:
        raise ConfigError(f"{where}: a condition uses {', '.join(sorted(_CONDITIONS))}")
    texts = {}
    for name in ("status", "group", "not_group"):
        value = clause.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {name} must be a list of strings")
        texts[name] = frozenset(normal(v) if name == "status" else v.strip().casefold()
                                for v in value)
    flags = {}
    for name in ("acd", "acw", "dnd", "logged_in"):
        value = clause.get(name)
        if value is not None and not isinstance(value, bool):
            raise ConfigError(f"{where}: {name} must be true or false")
        flags[name] = value
    return Clause(texts["status"], texts["group"], texts["not_group"], **flags)
