"""The audit log: one JSON object per line, one line per event, separate from the access log.

Modelled on Shibboleth IdP's idp-audit.log: who (user ID, NameID), where (SP, ACS binding,
base URL), what (event, Response ID, session index), from where (client address), when. The
field names are stable and listed in docs/operating.md. Never written: a password, an
assertion or any SAML message, a cookie, a token; a user ID as typed on a failed logon only
when it does not look like a password typed into the wrong field.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.handlers
import re
import sys
from pathlib import Path
from typing import Any

from idp.config import Config

log = logging.getLogger("cic_sts.audit")
log.propagate = False  # never mixed into the application or access log
SCHEMA = 1
TYPED_USER_ID_LIMIT = 64
_CLASSES = (re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"[0-9]"),
            re.compile(r"[^A-Za-z0-9._@-]"))


def configure(config: Config) -> None:
    """Send audit lines where monitoring.audit_log says (again at each worker start)."""
    for old in list(log.handlers):
        log.removeHandler(old)
        old.close()
    target = config.monitoring.audit_log
    if not target:
        log.disabled = True
        return
    log.disabled = False
    handler: logging.Handler
    if target == "-":
        handler = logging.StreamHandler(sys.stdout)
    else:
        path = Path(target) if Path(target).is_absolute() else config.path.parent / target
        # reopened when logrotate has moved the file; O_APPEND keeps workers' lines whole
        handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def looks_like_password(text: str) -> bool:
    """Whether a user ID as typed may be a password typed into the user ID field: not a
    possible CIC user ID (spaces, control characters, too long), or a mix of three kinds of
    characters out of lower case, upper case, digits and symbols, which user IDs rarely are."""
    from idp.users import user_id_problem

    if user_id_problem(text) is not None:
        return bool(text)
    return sum(1 for pattern in _CLASSES if pattern.search(text)) >= 3


def typed_user_id(text: str) -> dict[str, Any]:
    """The audit fields for a user ID as typed on a failed logon."""
    if looks_like_password(text):
        return {"user_id": None, "user_id_withheld": "looks like a password"}
    return {"user_id": text[:TYPED_USER_ID_LIMIT]}


def event(name: str, **fields: Any) -> None:
    """Write one audit line (`None` fields are kept: a stable set of keys per event)."""
    if log.disabled or not log.handlers:
        return
    now = dt.datetime.now(dt.UTC)
    record = {"time": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
              "event": name, "schema": SCHEMA, **fields}
    log.info(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
