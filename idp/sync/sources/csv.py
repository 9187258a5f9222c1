"""A CSV export of CIC users as the sync's source (``sync.csv_file``).

The columns are those `cic-sts users import` documents (a password column is ignored; a
``workgroups`` column feeds scoping). A bad row makes the snapshot incomplete, and so does a
final ``#rows=N`` line that does not match the rows above it: an export cut short at a line
boundary is otherwise a well-formed file with fewer users. With ``sync.csv_require_row_count``
a file without that line is incomplete too, for exports that always write it.
"""

from __future__ import annotations

from pathlib import Path

from idp.auth.csvfile import read_users_csv
from idp.errors import DirectoryError, SyncError
from idp.sync.sources.base import Snapshot, UserSource


class CsvSource(UserSource):
    has_workgroups = True

    def __init__(self, path: Path, *, require_row_count: bool = False,
                 needs_workgroups: bool = False) -> None:
        self.description = f"CSV file {path}"
        self._path = path
        self._require_row_count = require_row_count
        self._needs_workgroups = needs_workgroups

    def snapshot(self) -> Snapshot:
        try:
            result = read_users_csv(self._path)
        except DirectoryError as exc:
            raise SyncError(str(exc)) from None
        if self._needs_workgroups and "workgroups" not in result.columns:
            # Without it every user would be out of a workgroup: scope rules would see none.
            raise SyncError(f"{self._path}: no workgroups column, which the workgroup: rules "
                            "of sync.include / sync.exclude need")
        problems = [f"{self._path.name}: {error}" for error in result.errors]
        if self._require_row_count and result.row_count is None:
            problems.append(f"{self._path.name}: no final #rows=N line "
                            "(sync.csv_require_row_count): the export may be incomplete")
        return Snapshot([user for _, user, _ in result.rows], problems)
