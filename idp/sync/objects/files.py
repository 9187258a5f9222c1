"""CIC's objects from CSV files, for the CSV and local-directory sources (``sync.objects_dir``).

The folder holds up to four files, each with a header row (columns in any order and letter
case), read like the users' CSV (`idp.csvtable`: UTF-8, a final ``#rows=N`` line that must
match when present):

- ``workgroups.csv``: ``workgroup`` (its CIC id and name), ``queue`` (true or false: whether
  it has a queue; default true), ``members`` (CIC user IDs), ``skills`` (``Skill=proficiency``
  pairs, 1-100), ``wrapup_codes`` (their ids), ``display_name`` (default: the id);
- ``skills.csv``: ``skill``, ``language`` (true: "Treat as Language"; default false),
  ``display_name``;
- ``wrapup_codes.csv``: ``wrapup_code``, ``display_name``;
- ``user_skills.csv``: ``user_id``, ``skills`` (``Skill=proficiency`` pairs), for the skills
  assigned to users directly.

Lists in a cell are separated by semicolons. A file that is missing is a list not read, which
is not the same as an empty one: nothing is derived from it, so nothing it would have decided
is removed from Genesys Cloud (no workgroups.csv: no queue deleted, no member taken off a queue,
no inherited skill taken away; no user_skills.csv: no skill or language taken from any user;
no skills.csv or wrapup_codes.csv: none of those deleted). A file with its header only is an
empty list. A bad row is a problem of the snapshot, which then removes nothing at all.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from idp.csvtable import read_table
from idp.objects import ObjectSnapshot, Skill, SkillLevel, Workgroup, WrapupCode

FILES = {
    "workgroups.csv": ("workgroup", ("workgroup", "queue", "members", "skills", "wrapup_codes",
                                     "display_name")),
    "skills.csv": ("skill", ("skill", "language", "display_name")),
    "wrapup_codes.csv": ("wrapup_code", ("wrapup_code", "display_name")),
    "user_skills.csv": ("user_id", ("user_id", "skills")),
}

_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")

#: What is not removed while a file is missing, for the pass's notes.
_UNREAD = {
    "workgroups.csv": "no queue is deleted, no member taken off a queue and no inherited skill "
                      "taken away",
    "skills.csv": "no skill or language is deleted or taken away",
    "wrapup_codes.csv": "no wrap-up code is deleted or taken off a queue",
    "user_skills.csv": "no skill or language is taken away from any user",
}


def read_folder(folder: Path) -> ObjectSnapshot:
    """Every object of the files in `folder`; `DirectoryError` for a file that cannot be read
    as a whole."""
    snapshot = ObjectSnapshot()
    read = set()
    for name, (required, columns) in FILES.items():
        path = folder / name
        if not path.exists():
            snapshot.notes.append(f"{path} is missing (a file with its header only is an empty "
                                  f"list): {_UNREAD[name]} in this pass")
            continue
        read.add(name.removesuffix(".csv"))
        table = read_table(path, columns, required=required)
        problems = [f"{name}: {error}" for error in table.errors]
        for line, values in table.rows:
            values = {k: v.strip() for k, v in values.items()}
            problem = _row(name, values, snapshot)
            if problem:
                problems.append(f"{name}: line {line}: {problem}")
        snapshot.problems.extend(problems)
    return replace(snapshot, read=frozenset(read))


def _row(name: str, values: dict[str, str], snapshot: ObjectSnapshot) -> str:
    """Add the row's object to `snapshot`; what is wrong with it, if anything."""
    ident = values.get(FILES[name][0], "")
    if not ident:
        return f"empty {FILES[name][0]}"
    shown = values.get("display_name") or ident
    if name == "skills.csv":
        language = _flag(values.get("language", ""), False)
        if language is None:
            return f"language must be true or false, got {values['language']!r}"
        snapshot.skills.append(Skill(ident, shown, language))
    elif name == "wrapup_codes.csv":
        snapshot.wrapup_codes.append(WrapupCode(ident, shown))
    elif name == "user_skills.csv":
        levels, problem = _levels(values.get("skills", ""))
        if problem:
            return problem
        snapshot.user_skills[ident] = levels
    else:
        queue = _flag(values.get("queue", ""), True)
        if queue is None:
            return f"queue must be true or false, got {values['queue']!r}"
        levels, problem = _levels(values.get("skills", ""))
        if problem:
            return problem
        snapshot.workgroups.append(Workgroup(
            ident, shown, queue, _list(values.get("members", "")), levels,
            _list(values.get("wrapup_codes", ""))))
    return ""


def _list(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split(";") if part.strip())


def _flag(cell: str, default: bool) -> bool | None:
    if not cell:
        return default
    if cell.casefold() in _TRUE:
        return True
    return False if cell.casefold() in _FALSE else None


def _levels(cell: str) -> tuple[tuple[SkillLevel, ...], str]:
    found = []
    for part in _list(cell):
        skill, equals, level = part.rpartition("=")
        if not equals or not skill.strip() or not level.strip().isdigit() \
                or not 0 <= int(level) <= 100:
            return (), f"a skill is written Skill=proficiency (0-100), got {part!r}"
        found.append(SkillLevel(skill.strip(), int(level)))
    return tuple(found), ""
