"""prometheus_client's multiprocess mode for gunicorn's workers.

Each worker writes its samples to files in one folder that /metrics (in any worker) adds up.
The folder must be named in $PROMETHEUS_MULTIPROC_DIR before prometheus_client is first
imported, so `prepare()` runs in gunicorn's master (from its configuration module) and this
module imports nothing of prometheus_client. Under systemd the folder is the unit's
RuntimeDirectory (/run/cic-sts), otherwise a fresh temporary folder, removed at exit.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
_created: Path | None = None


def prepare() -> Path:
    """Name (and empty) the folder of the workers' metric files; idempotent in one process."""
    global _created
    named = os.environ.get(ENV)
    if named and (_created is None or Path(named) != _created):
        folder = Path(named)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):  # samples of an earlier run would be added up
            stale.unlink()
        return folder
    if _created is None:
        runtime = os.environ.get("RUNTIME_DIRECTORY")
        if runtime:
            folder = Path(runtime) / "metrics"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(mode=0o700)
        else:
            folder = Path(tempfile.mkdtemp(prefix="cic-sts-metrics-"))
        _created = folder
        os.environ[ENV] = str(folder)
    return _created


def cleanup() -> None:
    """Remove the folder `prepare` created (gunicorn's on_exit)."""
    if _created is not None and not os.environ.get("RUNTIME_DIRECTORY"):
        shutil.rmtree(_created, ignore_errors=True)
