"""CIC user records as ICWS's configuration API returns them, mapped to `CicUser`.

Which ICWS property feeds which `CicUser` field:

| CicUser | ICWS (``GET /icws/{session}/configuration/users/{id}``) |
|---|---|
| ``user_id`` | ``configurationId.id`` |
| ``display_name`` | ``configurationId.displayName`` (CIC defaults it to the user ID) |
| ``email`` | ``personalInformationProperties.emailAddress`` (the business e-mail) |
| ``phones["business"]`` | ``personalInformationProperties.phoneNumberOfBusiness1`` |
| ``phones["business2"]`` | ``personalInformationProperties.phoneNumberOfBusiness2`` |
| ``phones["mobile"]`` | ``personalInformationProperties.phoneNumberOfMobile`` |
| ``phones["home"]`` | ``personalInformationProperties.phoneNumberOfHome1`` |
| ``phones["fax"]`` | ``personalInformationProperties.phoneNumberOfFax`` |
| ``workgroups`` | ``workgroups`` (ConfigurationId list: each ``id``), read only when asked |

A phone is ``{"number", "extension", "dialExtensionAutomatically"}``; it becomes the number, with
the extension appended the RFC 3966 way (``+13175550101;ext=105``), which is also how Genesys
Cloud writes an extension in a tel URI. An extension without a number is dropped: alone it is not
a number anybody outside CIC can dial.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from idp.users import CicUser

PERSONAL = "personalInformationProperties"

#: ``CicUser.phones`` key -> ICWS property of ``personalInformationProperties``.
PHONE_PROPERTIES = {
    "business": "phoneNumberOfBusiness1",
    "business2": "phoneNumberOfBusiness2",
    "mobile": "phoneNumberOfMobile",
    "home": "phoneNumberOfHome1",
    "fax": "phoneNumberOfFax",
}

#: The ``select`` value that asks for exactly what `user_from_icws` reads. The configuration ID
#: (id and display name) comes with every item.
USER_SELECT = ",".join(
    [f"{PERSONAL}.emailAddress", *(f"{PERSONAL}.{name}" for name in PHONE_PROPERTIES.values())])
#: Added to the ``select`` when the sync needs workgroup membership (sync.include / exclude).
WORKGROUPS = "workgroups"


class UnexpectedRecord(ValueError):
    """An ICWS user item without the shape documented for it."""


def user_from_icws(item: Any) -> CicUser:
    """The `CicUser` of one ICWS user item; `UnexpectedRecord` if it has no configuration ID."""
    if not isinstance(item, Mapping):
        raise UnexpectedRecord("a user item is not a JSON object")
    ident = item.get("configurationId")
    if not isinstance(ident, Mapping) or not isinstance(ident.get("id"), str) or not ident["id"]:
        raise UnexpectedRecord("a user item has no configurationId.id")
    personal = item.get(PERSONAL)
    if not isinstance(personal, Mapping):
        personal = {}  # null properties are omitted, so a user without any has none
    phones = {}
    for key, name in PHONE_PROPERTIES.items():
        text = phone_text(personal.get(name))
        if text:
            phones[key] = text
    return CicUser(user_id=ident["id"], display_name=_text(ident.get("displayName")),
                   email=_text(personal.get("emailAddress")), phones=phones,
                   workgroups=_workgroups(item.get(WORKGROUPS)))


def _workgroups(value: Any) -> tuple[str, ...]:
    """The ids of a ConfigurationId list (a CIC workgroup's id is its name)."""
    if not isinstance(value, list):
        return ()
    return tuple(entry["id"] for entry in value
                 if isinstance(entry, Mapping) and isinstance(entry.get("id"), str) and entry["id"])


def phone_text(value: Any) -> str:
    """``number`` or ``number;ext=extension`` from an ICWS phone number object."""
    if not isinstance(value, Mapping):
        return ""
    number, extension = _text(value.get("number")), _text(value.get("extension"))
    if not number:
        return ""
    return f"{number};ext={extension}" if extension else number


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
