"""Where the object sync reads CIC's workgroups, skills and wrap-up codes: CIC over ICWS (with
the user source's service account), or the CSV files of `idp.sync.objects.files`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from idp.cic.configuration import (
    read_skills,
    read_user_skills,
    read_workgroups,
    read_wrapup_codes,
)
from idp.cic.errors import IcwsUnavailable, ListChanged
from idp.cic.icws import IcwsSession
from idp.cic.service import ServiceSession
from idp.errors import BackendUnavailable, DirectoryError, SyncError
from idp.objects import ObjectSnapshot, Skill
from idp.sync.objects.files import read_folder

#: Whole reads of lists that keep changing under the reader before the pass gives up.
READS = 3


class ObjectSource(ABC):
    description: str

    @abstractmethod
    def snapshot(self) -> ObjectSnapshot:
        """Every object now; `SyncError` when the source cannot be read completely."""


class FolderSource(ObjectSource):
    def __init__(self, folder: Path) -> None:
        self.description = f"object files in {folder}"
        self._folder = folder

    def snapshot(self) -> ObjectSnapshot:
        if not self._folder.is_dir():
            raise SyncError(f"sync.objects_dir: {self._folder} is not a folder")
        try:
            return read_folder(self._folder)
        except DirectoryError as exc:
            raise SyncError(str(exc)) from None


class IcwsObjectSource(ObjectSource):
    def __init__(self, service: ServiceSession, language_property: str) -> None:
        servers = ", ".join(map(str, service.client.servers))
        self.description = f"CIC over ICWS ({servers})"
        self._service = service
        self._language = language_property

    def snapshot(self) -> ObjectSnapshot:
        def read(session: IcwsSession) -> ObjectSnapshot:
            problems: list[str] = []
            skills = self._skills(session, problems)
            return ObjectSnapshot(read_workgroups(session, problems), skills,
                                  read_wrapup_codes(session, problems),
                                  read_user_skills(session, problems), problems)

        problem: BackendUnavailable | None = None
        for _ in range(READS):
            try:
                return self._service.run(read)
            except ListChanged as exc:
                problem = exc
            except BackendUnavailable as exc:
                problem = exc
                break
        raise SyncError(f"cannot read workgroups, skills and wrap-up codes from "
                        f"{self.description}: {problem}")

    def _skills(self, session: IcwsSession, problems: list[str]) -> list[Skill]:
        try:
            return read_skills(session, self._language, problems)
        except IcwsUnavailable as exc:
            if self._language and "HTTP 400" in str(exc):
                raise SyncError(
                    f"CIC refused to list skills with the property {self._language!r} "
                    f"(icws.skill_language_property, where \"Treat as Language\" is read "
                    f"from): {exc}. Set it to the property CIC uses, or to \"\" to sync every "
                    "skill as a skill") from None
            raise
