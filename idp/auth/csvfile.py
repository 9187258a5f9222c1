"""Reading a CSV export of CIC users for `cic-sts users import`.

The file is UTF-8 (a byte order mark, as Excel writes it, is fine) and comma-separated, with a
header row naming the columns in `CSV_COLUMNS`, in any order and any letter case. Rows with a
problem are reported with their line number and skipped; the good rows are kept. A problem with
the file as a whole (unreadable, no header, unknown column) raises `DirectoryError`.

An export may end with a row count, the line ``#rows=N`` (N: the user rows above it, blank lines
not counted), so that a file cut short at a line boundary (an interrupted export, ``head``) can
be told from a complete one: a count that does not match is reported as a problem of the file.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from typing import NamedTuple, TextIO

from idp.errors import DirectoryError
from idp.users import PHONE_FIELDS, CicUser, email_problem, has_control_characters, user_id_problem


class CsvColumn(NamedTuple):
    name: str
    required: bool
    help: str


#: What each of PHONE_FIELDS is called in help texts.
PHONE_LABELS = {
    "business": "Business phone",
    "business2": "Second business phone",
    "mobile": "Mobile phone",
    "home": "Home phone",
    "fax": "Fax number",
}

#: Every column a user CSV may have, in documentation order.
CSV_COLUMNS: tuple[CsvColumn, ...] = (
    CsvColumn("user_id", True,
              "CIC user ID (logon name). At most 128 characters, no spaces. "
              "Matched case-insensitively: an existing user is updated."),
    CsvColumn("display_name", False, "Display name (Personal Info > General)."),
    CsvColumn("email", False,
              "Business e-mail (Personal Info > Internet): the identity Genesys Cloud sees."),
    *(CsvColumn(f"{name}_phone", False, f"{PHONE_LABELS[name]} (Personal Info > Phone Numbers).")
      for name in PHONE_FIELDS),
    CsvColumn("workgroups", False,
              "CIC workgroups of the user, separated by semicolons; read by the sync's CSV "
              "source for sync.include / sync.exclude (`users import` does not store them)."),
    CsvColumn("password", False,
              "Password to set on import. Empty or absent: an existing user keeps theirs, "
              "a new user has none and cannot log on until one is set."),
)

_KNOWN = tuple(column.name for column in CSV_COLUMNS)

_ROW_COUNT = re.compile(r"#\s*rows\s*=\s*(\d+)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class RowError:
    line: int  # physical line number in the file, 1 = the header
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class CsvResult:
    rows: list[tuple[int, CicUser, str | None]] = field(default_factory=list)  # line, user, pw
    errors: list[RowError] = field(default_factory=list)
    #: N of a final ``#rows=N`` line, if the file has one (it matched, or an error says not)
    row_count: int | None = None
    columns: list[str] = field(default_factory=list)  # as the header names them, lowercased


def read_users_csv(path: str | os.PathLike[str]) -> CsvResult:
    """Parse a user CSV; see the module documentation."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            return _parse(file, os.fspath(path))
    except UnicodeDecodeError as exc:
        raise DirectoryError(
            f"{os.fspath(path)}: not UTF-8 text (byte {exc.start}); "
            "save it as \"CSV UTF-8\"") from None
    except OSError as exc:
        raise DirectoryError(f"cannot read {os.fspath(path)}: {exc.strerror or exc}") from None


def _parse(file: TextIO, name: str) -> CsvResult:
    reader = csv.reader(file)
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)  # blank lines before the header
        if header is None:
            raise DirectoryError(f"{name}: empty file; the first line must name the columns "
                                 f"({', '.join(_KNOWN)})")
        columns = _columns(header, name, reader.line_num)
        result = CsvResult(columns=columns)
        first_line: dict[str, int] = {}  # casefolded user_id -> line it was first seen
        line = reader.line_num + 1
        rows = 0
        trailer: tuple[int, int] | None = None  # (line, N) of a #rows=N line
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # blank line, or only commas (spreadsheets add these)
            if trailer is not None:
                result.errors.append(RowError(
                    trailer[0], "a #rows=N line must be the last line of the file"))
                trailer = None
            count = _ROW_COUNT.fullmatch(cells[0])
            if count is not None and not any(cell.strip() for cell in cells[1:]):
                trailer = (start, int(count.group(1)))
                continue
            rows += 1
            if len(cells) != len(columns):
                result.errors.append(RowError(
                    start, f"expected {len(columns)} fields, found {len(cells)}"))
                continue
            _row(dict(zip(columns, cells, strict=True)), start, first_line, result)
        if trailer is not None:
            result.row_count = trailer[1]
            if trailer[1] != rows:
                result.errors.append(RowError(
                    trailer[0], f"#rows={trailer[1]}, but the file has {rows} user rows: it "
                    "was cut short or edited"))
    except csv.Error as exc:
        raise DirectoryError(f"{name}: line {reader.line_num}: not valid CSV: {exc}") from None
    return result


def _columns(header: list[str], name: str, line: int) -> list[str]:
    columns = [cell.strip().lower() for cell in header]
    for column in columns:
        if column not in _KNOWN:
            hint = (" (the file must be comma-separated)"
                    if any(sep in column for sep in ";\t") else "")
            shown = repr(column) if column else "(empty)"
            raise DirectoryError(f"{name}: line {line}: unknown column {shown}{hint}; "
                                 f"known columns: {', '.join(_KNOWN)}")
        if columns.count(column) > 1:
            raise DirectoryError(f"{name}: line {line}: column {column!r} appears twice")
    if "user_id" not in columns:
        raise DirectoryError(f"{name}: line {line}: no user_id column; "
                             f"known columns: {', '.join(_KNOWN)}")
    return columns


def _row(values: dict[str, str], line: int, first_line: dict[str, int],
         result: CsvResult) -> None:
    password = values.pop("password", "") or None  # kept exactly: spaces may be meant
    values = {key: value.strip() for key, value in values.items()}
    user_id = values.get("user_id", "")
    problems = []
    problem = user_id_problem(user_id)
    if problem:
        problems.append(problem)
    else:
        key = user_id.casefold()
        if key in first_line:
            problems.append(f"duplicate user_id {user_id!r} (first on line {first_line[key]})")
        else:
            first_line[key] = line
    problem = email_problem(values.get("email", ""))
    if problem:
        problems.append(problem)
    for column, value in values.items():
        if column not in ("user_id", "email") and has_control_characters(value):
            problems.append(f"{column} contains control characters")
    if password is not None and has_control_characters(password):
        problems.append("password contains control characters")
    if problems:
        result.errors.append(RowError(line, "; ".join(problems)))
        return
    user = CicUser(
        user_id=user_id,
        display_name=values.get("display_name", ""),
        email=values.get("email", ""),
        phones={name: values[f"{name}_phone"] for name in PHONE_FIELDS
                if values.get(f"{name}_phone")},
        workgroups=tuple(w.strip() for w in values.get("workgroups", "").split(";")
                         if w.strip()),
    )
    result.rows.append((line, user, password))
