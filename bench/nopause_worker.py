"""BENCH ONLY: the STS's worker without its accept pause, to measure what the pause does."""

from __future__ import annotations

from typing import Any

from idp.server.worker import StsServer, StsWorker


class NoPauseServer(StsServer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.balance = False


class NoPauseWorker(StsWorker):
    server_class = NoPauseServer
