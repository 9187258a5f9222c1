"""One CIC user to the Genesys Cloud user it should be, and the differences between the two.

- Business Email: userName and emails[type work] (the SSO identity);
- Display Name (defaults to the user ID): displayName;
- Business / Business 2 / Mobile / Home phone, Fax: phoneNumbers work / work2 / mobile / home /
  other, as E.164 numbers or tel URIs (``tel:+13178723000;ext=105``);
- the CIC user ID: the link, an entry of the Genesys extension's externalIds with our authority
  (``cic-sts``), and externalId on the users the sync creates.

The sync owns exactly these fields (`Desired.fields`). Everything else on a Genesys Cloud user
(title, other phone types such as work3, routing skills, other authorities' external IDs) is kept
as it is: multi-valued attributes are rewritten as the current list with only our entries
replaced.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import phonenumbers

from idp.genesys.scim import GENESYS_SCHEMA, USER_SCHEMA
from idp.users import CicUser, email_problem

#: CIC phone field -> Genesys Cloud phone type.
PHONE_TYPES = {"business": "work", "business2": "work2", "mobile": "mobile", "home": "home",
               "fax": "other"}

#: Bumped when the mapping changes, so that every user's fingerprint changes and it is re-sent.
MAPPING_VERSION = 1

#: The longest e-mail address, and its longest local part (RFC 5321: 254 = a 256-octet path
#: less its angle brackets; 64): Genesys Cloud refuses longer ones, so they are reported first.
MAX_EMAIL = 254
MAX_LOCAL_PART = 64

#: Authorities of cic-sts installations: ``cic-sts`` (files without sync.authority) and the
#: ``cic-sts/<id>`` that `init` writes. A link under another one belongs to another installation.
AUTHORITY_FAMILY = "cic-sts"

#: The flat field names of the phones a diff talks about, in display order.
PHONE_PATHS = tuple(f"phoneNumbers[{t}]" for t in PHONE_TYPES.values())
EXTERNAL_IDS = f"{GENESYS_SCHEMA}:externalIds"


def link_field(authority: str) -> str:
    return f"externalIds[{authority}]"


@dataclass(frozen=True)
class Desired:
    """The Genesys Cloud user a CIC user should be; only the fields the sync owns."""

    user_id: str
    user_name: str  # the business e-mail
    display_name: str
    phones: dict[str, str]  # Genesys phone type -> E.164 number or tel URI

    def fields(self, authority: str) -> dict[str, str]:
        flat = {"userName": self.user_name, "displayName": self.display_name, "active": "true",
                "emails[work]": self.user_name}
        for name in PHONE_PATHS:
            flat[name] = self.phones.get(name[len("phoneNumbers["):-1], "")
        flat[link_field(authority)] = self.user_id
        return flat

    def fingerprint(self, authority: str) -> str:
        data = {"mapping": MAPPING_VERSION, **self.fields(authority)}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Mapped:
    """A CIC user and what the sync makes of it: `desired`, or why not (`reason`)."""

    user: CicUser
    desired: Desired | None
    reason: str = ""
    warnings: tuple[str, ...] = ()


def map_user(user: CicUser, default_country: str = "",
             max_display_name: int = 255) -> Mapped:
    email = user.email.strip()
    if not email:
        return Mapped(user, None, "no business e-mail")
    problem = email_problem(email) or _too_long(email)
    if problem:
        return Mapped(user, None, f"business {problem}")
    display_name = user.display_name.strip() or user.user_id
    if len(display_name) > max_display_name:
        return Mapped(user, None, f"display name is longer than {max_display_name} characters "
                                  "(sync.max_display_name_length)")
    phones: dict[str, str] = {}
    warnings = []
    for field_name, phone_type in PHONE_TYPES.items():
        raw = user.phones.get(field_name, "").strip()
        if not raw:
            continue
        value, problem = normalise_phone(raw, default_country)
        if value is None:
            warnings.append(f"{field_name} phone {raw!r} left out: {problem}")
        else:
            phones[phone_type] = value
    desired = Desired(user.user_id, email, display_name, phones)
    return Mapped(user, desired, warnings=tuple(warnings))


def _too_long(email: str) -> str | None:
    """RFC 5321 counts octets: an accented letter is two of them in UTF-8."""
    local = email.partition("@")[0]
    if len(email.encode()) > MAX_EMAIL:
        return f"email is longer than {MAX_EMAIL} bytes"
    if len(local.encode()) > MAX_LOCAL_PART:
        return f"email's part before the @ is longer than {MAX_LOCAL_PART} bytes"
    return None


def normalise_phone(raw: str, default_country: str = "") -> tuple[str | None, str]:
    """(E.164 number, or a tel URI when there is an extension; None and why if impossible).

    Genesys Cloud accepts ``+13178723000`` and ``tel:+13178723000;ext=105``. A number without a
    country code needs `default_country`; ``00`` then stands for ``+`` when none is set.
    """
    text = raw.strip()
    region = default_country.upper() or None
    if region is None and text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            hint = ("no country code (write it as +<country code> ..., or set "
                    "sync.default_country)") if region is None else "unknown country code"
            return None, hint
        return None, "not a phone number"
    if not phonenumbers.is_valid_number(number):
        return None, "not a valid phone number"
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if number.extension:
        return f"tel:{e164};ext={number.extension}", ""
    return e164, ""


# -- what Genesys Cloud has ---------------------------------------------------------------------


def is_installation(authority: str) -> bool:
    """Whether `authority` is that of a cic-sts installation (this one or another)."""
    return authority == AUTHORITY_FAMILY or authority.startswith(AUTHORITY_FAMILY + "/")


def other_installations(record: dict[str, Any], authority: str) -> list[str]:
    """The authorities of other cic-sts installations that link this Genesys Cloud user."""
    found = {entry.get("authority") for entry in _extension(record).get("externalIds") or []
             if isinstance(entry, dict)}
    return sorted(a for a in found if isinstance(a, str) and a != authority
                  and is_installation(a))


def why_not_ours(record: dict[str, Any], user_id: str, authority: str, *,
                 adopting: bool = False) -> str | None:
    """Why the sync must not write to this Genesys Cloud user for CIC user `user_id`, or None:
    another installation links it too, or (unless `adopting` it) our link no longer names
    that CIC user. Checked again on every fresh read, since either can change at any time."""
    others = other_installations(record, authority)
    if others:
        return f"also linked by another cic-sts installation ({', '.join(others)})"
    owner = link_of(record, authority)
    if adopting or (owner is not None and owner.casefold() == user_id.casefold()):
        return None
    return "no longer linked to it" if owner is None else f"linked to CIC user {owner} now"


def link_of(record: dict[str, Any], authority: str) -> str | None:
    """The CIC user ID our externalIds entry on a Genesys Cloud user names, if any."""
    for entry in _extension(record).get("externalIds") or []:
        if isinstance(entry, dict) and entry.get("authority") == authority:
            value = entry.get("value")
            return value if isinstance(value, str) else None
    return None


def current_fields(record: dict[str, Any], authority: str) -> dict[str, str]:
    """The fields the sync owns, as a Genesys Cloud user has them."""
    active = record.get("active", True)
    flat = {"userName": str(record.get("userName") or ""),
            "displayName": str(record.get("displayName") or ""),
            "active": "false" if active is False else "true",
            "emails[work]": _typed(record.get("emails"), "work")}
    for name in PHONE_PATHS:
        flat[name] = _typed(record.get("phoneNumbers"), name[len("phoneNumbers["):-1])
    flat[link_field(authority)] = link_of(record, authority) or ""
    return flat


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


def diff(current: dict[str, str], desired: dict[str, str]) -> list[FieldChange]:
    """The fields whose values differ, in the order of `desired`. Phone numbers compare by what
    they dial; everything else exactly, e-mails included: Genesys Cloud matches e-mails without
    letter case, but keeps them as written, and should show what CIC has."""
    changes = []
    for name, new in desired.items():
        old = current.get(name, "")
        if name.startswith("phoneNumbers["):
            same = _dialled(old) == _dialled(new)
        else:
            same = old == new
        if not same:
            changes.append(FieldChange(name, old, new))
    return changes


def _dialled(value: str) -> str:
    if not value:
        return ""
    normal, _ = normalise_phone(value)
    return normal or value


# -- what to send -------------------------------------------------------------------------------


def create_body(desired: Desired, authority: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [USER_SCHEMA, GENESYS_SCHEMA],
        "userName": desired.user_name,
        "displayName": desired.display_name,
        "active": True,
        "emails": [{"type": "work", "value": desired.user_name, "primary": True}],
        "externalId": desired.user_id,
        GENESYS_SCHEMA: {"externalIds": [{"authority": authority, "value": desired.user_id}]},
    }
    if desired.phones:
        body["phoneNumbers"] = [{"type": t, "value": v} for t, v in desired.phones.items()]
    return body


def patch_operations(record: dict[str, Any], desired: Desired, authority: str,
                     fields: set[str]) -> list[dict[str, Any]]:
    """SCIM PATCH operations that set `fields` (flat names) of `record` to `desired`.

    Only plain ``replace`` of whole attributes, which every SCIM server understands (value
    filters in paths, like ``phoneNumbers[type eq "work"].value``, are optional in SCIM). For a
    multi-valued attribute the value is the current list with only our entries replaced; the
    If-Match version the caller sends guarantees that "current" is what the server has.
    """
    ops: list[dict[str, Any]] = []
    target = desired.fields(authority)
    for name in ("userName", "displayName"):
        if name in fields:
            ops.append(_replace(name, target[name]))
    if "active" in fields:
        ops.append(_replace("active", True))
    if "emails[work]" in fields:
        keep = [e for e in _entries(record.get("emails")) if e.get("type") not in ("work", "other")]
        ops.append(_replace("emails", [*keep, {"type": "work", "value": desired.user_name,
                                               "primary": True}]))
    if fields & set(PHONE_PATHS):
        ours = set(PHONE_TYPES.values())
        keep = [p for p in _entries(record.get("phoneNumbers")) if p.get("type") not in ours]
        ops.append(_replace("phoneNumbers", [
            *keep, *({"type": t, "value": v} for t, v in desired.phones.items())]))
    if link_field(authority) in fields:
        ops.extend(link_operations(record, authority, desired.user_id))
    return ops


def link_operations(record: dict[str, Any], authority: str,
                    user_id: str | None) -> list[dict[str, Any]]:
    """The PATCH that makes our externalIds entry on `record` name `user_id` (None: removes
    it), keeping every other authority's entries."""
    keep = [e for e in _entries(_extension(record).get("externalIds"))
            if e.get("authority") != authority]
    if user_id is not None:
        keep.append({"authority": authority, "value": user_id})
    return [_replace(EXTERNAL_IDS, keep)]


def deactivate_operations() -> list[dict[str, Any]]:
    return [_replace("active", False)]


def apply_operations(record: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """`record` after our `replace` operations, for a server that answers a PATCH with 204."""
    result = copy.deepcopy(record)
    for op in ops:
        path, value = op["path"], op["value"]
        if path.startswith(GENESYS_SCHEMA + ":"):
            result.setdefault(GENESYS_SCHEMA, {})[path[len(GENESYS_SCHEMA) + 1:]] = value
        else:
            result[path] = value
    return result


def _replace(path: str, value: Any) -> dict[str, Any]:
    return {"op": "replace", "path": path, "value": value}


def _entries(value: Any) -> list[dict[str, Any]]:
    return [entry for entry in value or [] if isinstance(entry, dict)]


def _typed(values: Any, wanted: str) -> str:
    for entry in _entries(values):
        if entry.get("type") == wanted and isinstance(entry.get("value"), str):
            return str(entry["value"])
    return ""


def _extension(record: dict[str, Any]) -> dict[str, Any]:
    ext = record.get(GENESYS_SCHEMA)
    return ext if isinstance(ext, dict) else {}
