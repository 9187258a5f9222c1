"""Folders shipped beside the package: `proxy_templates/` and `deploy/` of the checkout, or the
copies a wheel installs as data files under <prefix>/share/cic-sts/."""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path


def shared_folder(name: str, marker: str) -> tuple[Path | None, list[Path]]:
    """The first candidate folder `name` that holds the file `marker`, and every candidate."""
    checkout = Path(__file__).resolve().parents[1] / name
    candidates = [checkout] + [
        Path(prefix) / "share" / "cic-sts" / name
        for prefix in (sysconfig.get_path("data"), sys.prefix, sysconfig.get_path(
            "data", f"{'nt' if sys.platform == 'win32' else 'posix'}_user"))
    ]
    found = next((folder for folder in candidates if (folder / marker).is_file()), None)
    return found, candidates
