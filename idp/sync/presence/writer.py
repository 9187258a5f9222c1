"""Writing presences to Genesys Cloud: under which source, with which definition, in batches.

Source. By default (``sync.presence_source = "cic-sts"``) presences are written under a
presence source registered for cic-sts (found by name in ``/presence/sources``, created if
missing), with ``primary: true``: CIC is then the primary source of a synced user's presence,
as the vendor's guide says of PureConnect's own bridge ("Synchronized users cannot change their
status in Genesys Cloud"), what a user sets in a Genesys Cloud client does not fight with CIC,
and many users are written in one ``PUT /users/presences/bulk``. ``purecloud`` writes under Genesys
Cloud's own source instead, one ``PATCH`` per user (its bulk endpoint takes registered sources
only): for organizations that cannot register a source, at the cost of one request per change.

Definitions. A target names a system presence (looked up in ``/presence/definitions``: the
System definition of that ``systemPresence``) or one of the organization's definitions (its id,
or its label in any language). Every presence the rules may ask for is resolved before anything
is written; one that does not exist is a configuration error.

A batch refused as a whole (400: say one user no longer exists) is split in halves until the
users that cannot be written are found; each of those is dropped with a log line and counted,
the others are written. The out-of-office flag is not written here but after the presence, on
its own (`idp.sync.presence.outofoffice`): a flag Genesys Cloud refuses never holds a presence
back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from idp.errors import ConfigError, PlatformError
from idp.genesys.presence import PURECLOUD, SYSTEM_PRESENCES, PresenceClient
from idp.sync.presence.rules import Target

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Write:
    genesys_id: str
    target: Target


class PresenceWriter:
    def __init__(self, client: PresenceClient, source: str) -> None:
        self.client = client
        self._source_name = source
        self.source_id = ""
        self._definitions: dict[str, str] = {}  # presence name (casefolded) -> definition id
        self.dropped = 0  # writes Genesys Cloud refused for one user
        self.requests = 0  # write requests sent

    @property
    def bulk(self) -> bool:
        return self._source_name.casefold() != PURECLOUD

    def prepare(self, presences: Iterable[str]) -> None:
        """Find (or register) the source and every definition the rules may ask for."""
        if self.bulk:
            self.source_id = self._source()
        else:
            self.source_id = PURECLOUD
        definitions = [d for d in self.client.definitions() if not d.get("deactivated")]
        for name in presences:
            found = _definition(definitions, name)
            if found is None:
                system = ", ".join(SYSTEM_PRESENCES)
                raise ConfigError(f"presence {name!r} (sync.presence_rules): Genesys Cloud has "
                                  f"no such presence definition (system presences: {system})")
            self._definitions[name.casefold()] = found

    def _source(self) -> str:
        for source in self.client.sources():
            if source.get("name") == self._source_name and isinstance(source.get("id"), str):
                return str(source["id"])
        created = self.client.create_source(
            self._source_name, "CIC agent statuses, written by cic-sts (CIC is the primary "
            "source of the users it syncs)")
        log.info("registered the presence source %r in Genesys Cloud", self._source_name)
        return str(created["id"])

    def write(self, writes: list[Write]) -> list[Write]:
        """Write `writes`; the ones Genesys Cloud refused (dropped). Errors other than a
        refusal of the request (Genesys Cloud unreachable, credentials) are raised."""
        refused: list[Write] = []
        if self.bulk:
            self._bulk(writes, refused)
        else:
            for one in writes:
                try:
                    self.requests += 1
                    self.client.patch_purecloud(one.genesys_id, self._id(one.target))
                except PlatformError as exc:
                    if exc.genesys_status not in (400, 404):
                        raise
                    refused.append(self._drop(one, exc))
        return refused

    def _bulk(self, writes: list[Write], refused: list[Write]) -> None:
        body = [self._entry(one) for one in writes]
        try:
            self.requests += 1
            self.client.put_presences(body)
        except PlatformError as exc:
            if exc.genesys_status != 400:
                raise
            if len(writes) == 1:
                refused.append(self._drop(writes[0], exc))
                return
            half = len(writes) // 2
            self._bulk(writes[:half], refused)
            self._bulk(writes[half:], refused)

    def _entry(self, one: Write) -> dict[str, Any]:
        return {"id": one.genesys_id, "sourceId": self.source_id, "primary": True,
                "presenceDefinition": {"id": self._id(one.target)}}

    def _id(self, target: Target) -> str:
        return self._definitions[target.presence.casefold()]

    def _drop(self, one: Write, exc: PlatformError) -> Write:
        self.dropped += 1
        log.warning("presence of Genesys Cloud user %s not written: %s", one.genesys_id, exc)
        return one


def _definition(definitions: list[dict[str, Any]], name: str) -> str | None:
    """The id of the definition `name` means: a system presence's System definition, else a
    definition with that id or label."""
    wanted = name.replace(" ", "").casefold()
    system = [d for d in definitions
              if str(d.get("systemPresence", "")).replace(" ", "").casefold() == wanted]
    for choice in (d for d in system if d.get("type") == "System"):
        return str(choice["id"])
    if system and not any(d.get("type") for d in system):
        return str(system[0]["id"])
    for definition in definitions:
        labels = definition.get("languageLabels") or {}
        if definition.get("id") == name or (isinstance(labels, dict) and name.casefold() in
                                             {str(v).casefold() for v in labels.values()}):
            return str(definition["id"])
    return None
