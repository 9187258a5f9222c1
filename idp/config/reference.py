"""docs/settings.md, written from the settings registry so that it cannot drift from the code.

    python -m idp.config.reference > docs/settings.md      (`make docs`)

A test compares the committed file with what this writes.
"""

from __future__ import annotations

import sys
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from idp.config.sections import SECTIONS, Secret

INTRO = """\
# Settings

For the administrator who writes `cic-sts.toml`. Generated from the settings registry
(`idp/config/sections.py`, `sync_section.py`) by `make docs`; do not edit by hand.

One TOML file (`--config FILE`, else `$CIC_STS_CONFIG`, else `./cic-sts.toml`, else
`/etc/cic-sts/cic-sts.toml`) holds every setting, validated before anything starts: an unknown
section or key, a value of the wrong type, a choice not offered or a number out of range is
refused with one line naming `section.key` and what would be right. Relative paths are relative
to the file. Secrets are never written in it: `{ env = "VARIABLE" }` or `{ file = "path" }`.
`[[service_providers]]` is an array of tables, one per SP registered from its metadata.
"""


def render() -> str:
    parts = [INTRO.rstrip("\n")]
    for section, cls in SECTIONS.items():
        title = f"[[{section}]]" if section == "service_providers" else f"[{section}]"
        parts.append(f"\n## `{title}`\n")
        doc = (cls.__doc__ or "").strip()
        if doc and not doc.startswith(cls.__name__ + "("):  # dataclasses make one up
            parts.append(" ".join(doc.split()) + "\n")
        parts.append("| setting | default | allowed | what |\n|---|---|---|---|")
        for f in fields(cls):
            meta = f.metadata
            parts.append(f"| `{section}.{f.name}` | {_default(f)} | {_allowed(meta)} | "
                         f"{_cell(meta['help'])} |")
    return "\n".join(parts) + "\n"


def _default(f: Any) -> str:
    value = f.default_factory() if f.default_factory is not MISSING else f.default
    return f"`{_toml(value)}`" if value is not None else "none"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | Path):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, Secret):
        return f'{{ env = "{value.env}" }}' if value.env else f'{{ file = "{value.file}" }}'
    return str(value)


def _allowed(meta: Any) -> str:
    if meta.get("choices"):
        return ", ".join(f"`{c}`" for c in meta["choices"])
    low, high = meta.get("min"), meta.get("max")
    if low is not None and high is not None:
        return f"{low}-{high}"
    if low is not None:
        return f"at least {low}"
    if high is not None:
        return f"at most {high}"
    return ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


if __name__ == "__main__":
    sys.stdout.write(render())
