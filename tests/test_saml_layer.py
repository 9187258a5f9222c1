"""`idp.saml` is the protocol and nothing else (issue 10): it imports no web framework, no
configuration and no other layer of cic-sts, so that it can be read, tested and reused with
plain values."""

from __future__ import annotations

import ast
from pathlib import Path

SAML = Path(__file__).resolve().parents[1] / "idp" / "saml"
ALLOWED_IDP = ("idp.saml", "idp.errors")  # the protocol itself, and the error taxonomy
FORBIDDEN = ("flask", "werkzeug", "jinja2", "itsdangerous")


def imported(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_saml_imports_no_flask_no_config_and_no_other_layer() -> None:
    modules = sorted(SAML.glob("*.py"))
    assert len(modules) > 10
    for path in modules:
        for name in imported(path):
            top = name.split(".")[0]
            assert top not in FORBIDDEN, f"{path.name} imports {name}"
            if top == "idp":
                assert name.startswith(ALLOWED_IDP), f"{path.name} imports {name}"
