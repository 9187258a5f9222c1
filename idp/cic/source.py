"""CIC itself as the sync's user source: every user, read over ICWS with the service account.

Users come from ``GET /icws/{session}/configuration/users`` 200 at a time (``Range: items=a-b``,
the most ICWS answers when properties are selected), with the fields the mapping needs (see
`idp.cic.users`). A read that fails part-way fails as a whole (`SyncError`): a partial list would
look like deleted users.
"""

from __future__ import annotations

from idp.auth.base import CicUser
from idp.cic.icws import IcwsClient, IcwsSession, ListChanged
from idp.cic.service import ServiceSession
from idp.config import IcwsSettings
from idp.errors import BackendUnavailable, ConfigError, SyncError
from idp.sync.sources import Snapshot, UserSource


class IcwsSource(UserSource):
    def __init__(self, service: ServiceSession, where: str = "") -> None:
        servers = ", ".join(map(str, service.client.servers))
        self.description = f"CIC over ICWS ({servers})"
        self._service = service
        self._where = where

    @classmethod
    def from_settings(cls, settings: IcwsSettings) -> IcwsSource:
        if not settings.service_user or settings.service_password is None:
            raise ConfigError("icws.service_user / icws.service_password: the sync reads CIC "
                              "users with a service account; configure one")
        client = IcwsClient.from_settings(settings)
        return cls(ServiceSession(client, settings.service_user,
                                  settings.service_password.reveal()))

    def snapshot(self) -> Snapshot:
        # Read inside one `run`: if the session is lost, the whole list is read again.
        def read(session: IcwsSession) -> list[CicUser]:
            return list(session.iter_users(self._where))

        try:
            try:
                users = self._service.run(read)
            except ListChanged:  # somebody edited users meanwhile; a second read usually works
                users = self._service.run(read)
        except BackendUnavailable as exc:
            raise SyncError(f"cannot read users from {self.description}: {exc}") from None
        return Snapshot(users)

    def close(self) -> None:
        """Log the service account off and release the connections."""
        self._service.close()
        self._service.client.close()
