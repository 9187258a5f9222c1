"""Writing XML directly in its exclusive canonical form (Exclusive XML Canonicalization 1.0).

The messages this IdP signs are written as text that already is the exclusive canonical form of
each signed element, so the digest is taken over the text as written: no parse, no
canonicalization pass, no serialization. That holds when the text keeps these rules, which the
builders in `idp.saml.response` follow and `tests/test_saml_canonical.py` checks against
libxml2's own exclusive C14N for every message kind and for hostile values:

- no XML declaration, no comments, no whitespace between elements, no empty-element tags;
- a namespace is declared on the outermost element that uses its prefix (in its name or an
  attribute name) and nowhere below it, except `xs`, which is declared where the
  InclusiveNamespaces PrefixList asks for it (see `idp.saml.signing`);
- namespace declarations first, sorted by prefix; then attributes sorted by namespace URI, then
  local name (unprefixed attributes first); values in double quotes;
- text escapes `&`, `<`, `>` and CR; attribute values escape `&`, `<`, `"`, TAB, LF and CR, and
  leave `>` as is.
"""

from __future__ import annotations

import re

from idp.errors import UnusableUserRecord

# Characters XML 1.0 cannot carry at all (C0 controls but tab/LF/CR, surrogates, U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})
_ATTRIBUTE = str.maketrans({"&": "&amp;", "<": "&lt;", '"': "&quot;", "\t": "&#x9;",
                            "\n": "&#xA;", "\r": "&#xD;"})


def _xml_chars(value: str) -> str:
    if _NOT_XML.search(value):
        raise UnusableUserRecord("a value for the assertion holds characters XML cannot "
                                 "carry; correct the user's record in the directory")
    return value


def text(value: str) -> str:
    """`value` as canonical character data. A CR is written as a reference, so it arrives as a
    CR rather than being folded into a line feed by the receiving parser."""
    return _xml_chars(value).translate(_TEXT)


def attribute(value: str) -> str:
    """`value` as a canonical attribute value, quotes included. TAB, LF and CR are written as
    references, which survive the receiving parser's attribute-value normalization."""
    return '"' + _xml_chars(value).translate(_ATTRIBUTE) + '"'
