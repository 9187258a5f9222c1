"""Where the sync reads CIC users from: the local directory, a CSV export, or CIC over ICWS.

Each source gives a `Snapshot` (`base`); `source_for` picks the configured one.
"""

from __future__ import annotations

from idp.config import Config
from idp.sync.scope import Scope
from idp.sync.sources.base import Snapshot, UserSource
from idp.sync.sources.csv import CsvSource
from idp.sync.sources.directory import DirectorySource

__all__ = ["CsvSource", "DirectorySource", "Snapshot", "UserSource", "source_for"]


def source_for(config: Config) -> UserSource:
    settings = config.sync
    workgroups = Scope.of(settings.include, settings.exclude).needs_workgroups
    if settings.source == "csv":
        return CsvSource(settings.csv_file, require_row_count=settings.csv_require_row_count,
                         needs_workgroups=workgroups)
    if settings.source == "icws":
        from idp.sync.sources.icws import IcwsSource  # only this source needs the ICWS client

        return IcwsSource.from_settings(config.icws, workgroups=workgroups)
    return DirectorySource(config.directory.database)
