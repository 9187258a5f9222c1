"""The documents the code points to are in the repository, and so are the sections it names.

The facts about ICWS and Genesys Cloud that clients and stand-ins rely on are docs/facts.md,
cited by section (``docs/facts.md#icws-switchover``). A citation of a heading that was renamed
or removed, or a pointer to a document outside the repository (the fact sheet, specification
and style guide the project started from), fails here.
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from idp.config.sections import SECTIONS

ROOT = Path(__file__).resolve().parent.parent
FACTS = ROOT / "docs" / "facts.md"
#: Where the code, tests and documents live (the changelog records history, and is left out).
SEARCHED = ("idp", "tests", "bench", "docs", "scripts", "deploy", "proxy_templates",
            "README.md", "Makefile", "pyproject.toml")
SUFFIXES = {".py", ".md", ".toml", ".txt", ".html", ".j2", ".sh", ".service", ".timer", ""}
#: Names of documents outside the repository, spelled so that this file does not match itself.
OUTSIDE = tuple("".join(parts) for parts in (
    ("FACTS", ".md"), ("SPEC", ".md"), ("STYLE", ".md"), ("/work/", "shared"), ("seeds", "/")))
CITATION = re.compile(r"facts\.md#([A-Za-z0-9_-]+)")
INTERNAL_LINK = re.compile(r"\]\(#([A-Za-z0-9_-]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation other than hyphens
    and underscores dropped, spaces as hyphens."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def files() -> list[Path]:
    found: list[Path] = []
    for name in SEARCHED:
        path = ROOT / name
        candidates = [path] if path.is_file() else sorted(path.rglob("*"))
        found.extend(p for p in candidates if p.is_file() and p.suffix in SUFFIXES
                     and "__pycache__" not in p.parts)
    return found


def test_anchor_follows_githubs_rule() -> None:
    assert anchor("ICWS workgroups, skills and wrap-up codes") == \
        "icws-workgroups-skills-and-wrap-up-codes"
    assert anchor("Genesys Cloud: hosts, tokens and the rate limit") == \
        "genesys-cloud-hosts-tokens-and-the-rate-limit"


def test_no_file_points_to_a_document_outside_the_repository() -> None:
    offenders = [f"{path.relative_to(ROOT)}:{number}: {name}"
                 for path in files()
                 for number, line in enumerate(path.read_text(encoding="utf-8",
                                                              errors="replace").splitlines(), 1)
                 for name in OUTSIDE if name in line]
    assert not offenders, "\n".join(offenders)


def test_every_cited_section_of_the_facts_exists() -> None:
    facts = FACTS.read_text(encoding="utf-8")
    anchors = {anchor(h) for h in HEADING.findall(facts)}
    cited = {(str(path.relative_to(ROOT)), name) for path in files()
             for name in CITATION.findall(path.read_text(encoding="utf-8", errors="replace"))}
    assert cited, "nothing cites docs/facts.md by section"
    cited |= {("docs/facts.md", name) for name in INTERNAL_LINK.findall(facts)}
    missing = sorted(f"{path}: #{name}" for path, name in cited if name not in anchors)
    assert not missing, "cited sections docs/facts.md does not have:\n" + "\n".join(missing)


@pytest.mark.parametrize("module", ["tests/icws_server.py", "tests/icws_messaging.py",
                                    "tests/icws_objects.py", "tests/sync/fake_genesys.py",
                                    "tests/sync/fake_platform.py",
                                    "tests/genesys_sso_standin.py"])
def test_each_stand_in_names_the_facts_it_implements(module: str) -> None:
    text = (ROOT / module).read_text(encoding="utf-8")
    assert CITATION.search(text), f"{module} does not say which facts it implements"
    assert f"`{module}`" in FACTS.read_text(encoding="utf-8"), \
        f"docs/facts.md does not list the stand-in {module}"


def test_the_facts_name_only_modules_and_settings_that_exist() -> None:
    """Each fact says which module relies on it and which setting copes when it is unconfirmed:
    a module moved or a setting renamed must be followed here."""
    facts = FACTS.read_text(encoding="utf-8")
    paths = set(re.findall(r"`((?:idp|tests|bench)/[\w/.-]+)`", facts))
    assert paths
    assert not sorted(p for p in paths if not (ROOT / p).exists())
    known = {f"{section}.{f.name}" for section, kind in SECTIONS.items() for f in fields(kind)}
    sections = "|".join(SECTIONS)
    named = set(re.findall(rf"`((?:{sections})\.[a-z_]+)", facts))
    assert named
    assert not sorted(named - known)
