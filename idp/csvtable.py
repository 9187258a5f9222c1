"""Reading the CSV files cic-sts takes in: user exports, and the object files of the sync.

A file is UTF-8 (a byte order mark, as Excel writes it, is fine) and comma-separated, with a
header row naming its columns, in any order and any letter case; blank lines (or lines of
commas only) are skipped. It may end with a row count, the line ``#rows=N`` (N: the data rows
above it), so that a file cut short at a line boundary (an interrupted export, ``head``) can be
told from a complete one. Rows with the wrong number of fields and a count that does not match
are reported (`RowError`); a problem with the file as a whole (unreadable, no header, unknown or
doubled column) raises `DirectoryError`.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

from idp.errors import DirectoryError

_ROW_COUNT = re.compile(r"#\s*rows\s*=\s*(\d+)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class RowError:
    line: int  # physical line number in the file, 1 = the header
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class Table:
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # (line, values)
    errors: list[RowError] = field(default_factory=list)
    #: N of a final ``#rows=N`` line, if the file has one (it matched, or an error says not)
    row_count: int | None = None
    columns: list[str] = field(default_factory=list)  # as the header names them, lowercased


def read_table(path: str | os.PathLike[str], known: Sequence[str], *, required: str,
               noun: str = "rows") -> Table:
    """The rows of the CSV file at `path`, as column -> cell; `known` are the columns it may
    have, `required` the one it must; `noun` names the rows in messages ("user rows")."""
    name = os.fspath(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            return _parse(file, name, known, required, noun)
    except UnicodeDecodeError as exc:
        raise DirectoryError(f"{name}: not UTF-8 text (byte {exc.start}); save it as "
                             "\"CSV UTF-8\"") from None
    except OSError as exc:
        raise DirectoryError(f"cannot read {name}: {exc.strerror or exc}") from None


def _parse(file: TextIO, name: str, known: Sequence[str], required: str,
           noun: str) -> Table:
    reader = csv.reader(file)
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)  # blank lines before the header
        if header is None:
            raise DirectoryError(f"{name}: empty file; the first line must name the columns "
                                 f"({', '.join(known)})")
        columns = _columns(header, name, reader.line_num, known, required)
        table = Table(columns=columns)
        line = reader.line_num + 1
        rows = 0
        trailer: tuple[int, int] | None = None  # (line, N) of a #rows=N line
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # blank line, or only commas (spreadsheets add these)
            if trailer is not None:
                table.errors.append(RowError(
                    trailer[0], "a #rows=N line must be the last line of the file"))
                trailer = None
            count = _ROW_COUNT.fullmatch(cells[0])
            if count is not None and not any(cell.strip() for cell in cells[1:]):
                trailer = (start, int(count.group(1)))
                continue
            rows += 1
            if len(cells) != len(columns):
                table.errors.append(RowError(
                    start, f"expected {len(columns)} fields, found {len(cells)}"))
                continue
            table.rows.append((start, dict(zip(columns, cells, strict=True))))
        if trailer is not None:
            table.row_count = trailer[1]
            if trailer[1] != rows:
                table.errors.append(RowError(
                    trailer[0], f"#rows={trailer[1]}, but the file has {rows} {noun}: it "
                    "was cut short or edited"))
    except csv.Error as exc:
        raise DirectoryError(f"{name}: line {reader.line_num}: not valid CSV: {exc}") from None
    return table


def _columns(header: list[str], name: str, line: int, known: Sequence[str],
             required: str) -> list[str]:
    columns = [cell.strip().lower() for cell in header]
    for column in columns:
        if column not in known:
            hint = (" (the file must be comma-separated)"
                    if any(sep in column for sep in ";\t") else "")
            shown = repr(column) if column else "(empty)"
            raise DirectoryError(f"{name}: line {line}: unknown column {shown}{hint}; "
                                 f"known columns: {', '.join(known)}")
        if columns.count(column) > 1:
            raise DirectoryError(f"{name}: line {line}: column {column!r} appears twice")
    if required not in columns:
        raise DirectoryError(f"{name}: line {line}: no {required} column; "
                             f"known columns: {', '.join(known)}")
    return columns
