"""CIC itself as the sync's source: every user, read over ICWS with the service account.

Users come from ``GET /icws/{session}/configuration/users`` (`IcwsSession.iter_users`), with the
fields the mapping needs (see `idp.cic.users`) and, for scoping by workgroup, their workgroups.
The list is read completely or not at all (`idp.cic.paging`): a partial list would look like
deleted users. A list that changed while it was read is read again, up to `READS` times.
"""

from __future__ import annotations

from idp.cic.errors import ListChanged
from idp.cic.icws import IcwsClient, IcwsSession
from idp.cic.service import ServiceSession
from idp.config import IcwsSettings
from idp.errors import BackendUnavailable, ConfigError, SyncError
from idp.sync.sources.base import Snapshot, UserSource
from idp.users import CicUser

#: Whole reads of a list that keeps changing under the reader before the pass gives up.
READS = 3


class IcwsSource(UserSource):
    has_workgroups = True

    def __init__(self, service: ServiceSession, where: str = "", *,
                 workgroups: bool = False) -> None:
        servers = ", ".join(map(str, service.client.servers))
        self.description = f"CIC over ICWS ({servers})"
        self._service = service
        self._where = where
        self._workgroups = workgroups

    @classmethod
    def from_settings(cls, settings: IcwsSettings, *, workgroups: bool = False) -> IcwsSource:
        if not settings.service_user or settings.service_password is None:
            raise ConfigError("icws.service_user / icws.service_password: the sync reads CIC "
                              "users with a service account; configure one")
        client = IcwsClient.from_settings(settings)
        return cls(ServiceSession(client, settings.service_user,
                                  settings.service_password.reveal()), workgroups=workgroups)

    @property
    def service(self) -> ServiceSession:
        """The service account's session (the object sync reads through it too)."""
        return self._service

    def snapshot(self) -> Snapshot:
        # Read inside one `run`: if the session is lost, the whole list is read again.
        def read(session: IcwsSession) -> list[CicUser]:
            return list(session.iter_users(self._where, workgroups=self._workgroups))

        problem: BackendUnavailable | None = None
        for _ in range(READS):
            try:
                return Snapshot(self._service.run(read))
            except ListChanged as exc:  # somebody edited users meanwhile: read again
                problem = exc
            except BackendUnavailable as exc:
                problem = exc
                break
        raise SyncError(f"cannot read users from {self.description}: {problem}")

    def close(self) -> None:
        """Log the service account off and release the connections."""
        self._service.close()
        self._service.client.close()
