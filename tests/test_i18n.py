"""The logon page's languages: English plus complete translations, and only those."""

from __future__ import annotations

import re

from idp.web.i18n import DEFAULT, catalogs


def test_english_and_at_least_two_translations_are_shipped() -> None:
    shipped = catalogs()
    assert DEFAULT == "en" and "en" in shipped
    assert len(shipped) >= 3


def test_no_finnish_or_thai_because_pureconnect_has_neither() -> None:
    assert not {"fi", "th"} & set(catalogs())


def test_every_translation_is_complete_and_keeps_the_placeholders() -> None:
    english = catalogs()["en"]
    for lang, messages in catalogs().items():
        assert set(messages) == set(english), f"{lang}: keys differ from English"
        for key, text in english.items():
            assert messages[key].strip(), f"{lang}.{key} is empty"
            placeholders = set(re.findall(r"{(\w+)}", text))
            assert set(re.findall(r"{(\w+)}", messages[key])) == placeholders, f"{lang}.{key}"


def test_translations_are_translated() -> None:
    english = catalogs()["en"]
    for lang, messages in catalogs().items():
        if lang == "en":
            continue
        same = [k for k in english if messages[k] == english[k] and k != "language_name"]
        assert len(same) <= 2, f"{lang}: left in English: {same}"
