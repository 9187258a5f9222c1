"""ININ-REMAP-BASE-URL: honoured only from trusted proxies and only when clean (idp.web.remap)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from idp.config import parse_config
from idp.web.remap import HEADER, Remap, RemapPolicy

DEFAULT = "https://sts.example.com:8043"
PROXY_BASE = "https://cic.example.com/sts"


def policy(tmp_path: Path, **server: Any) -> RemapPolicy:
    raw = {"server": {"machine_names": ["sts.example.com"], **server}}
    return RemapPolicy(parse_config(raw, tmp_path / "cic-sts.toml"))


def test_no_header_gives_the_default_base(tmp_path: Path) -> None:
    assert policy(tmp_path).resolve(None, "127.0.0.1") == Remap(DEFAULT)
    assert policy(tmp_path).resolve(None, "203.0.113.9") == Remap(DEFAULT)


def test_default_base_follows_public_base_url(tmp_path: Path) -> None:
    remap = policy(tmp_path, public_base_url="https://sts.internal/x/").resolve(None, None)
    assert remap == Remap("https://sts.internal/x")


@pytest.mark.parametrize("header", [PROXY_BASE, PROXY_BASE + "/", f"  {PROXY_BASE}/ "])
def test_trusted_loopback_header_is_honoured(tmp_path: Path, header: str) -> None:
    assert policy(tmp_path).resolve(header, "127.0.0.1") == Remap(PROXY_BASE)


def test_whole_loopback_network_is_trusted(tmp_path: Path) -> None:
    assert policy(tmp_path).resolve(PROXY_BASE, "127.8.9.10") == Remap(PROXY_BASE)


def test_ipv6_loopback_is_trusted_by_default(tmp_path: Path) -> None:
    assert policy(tmp_path).resolve(PROXY_BASE, "::1") == Remap(PROXY_BASE)


@pytest.mark.parametrize("address", ["203.0.113.9", "10.0.0.1", "::2", "fe80::1", None, "",
                                     "localhost", "127.0.0.1, 10.0.0.1"])
def test_untrusted_address_gets_default_and_refused(tmp_path: Path,
                                                    address: str | None) -> None:
    remap = policy(tmp_path).resolve(PROXY_BASE, address)
    assert remap.base_url == DEFAULT
    assert remap.refused is not None
    assert "trusted" in remap.refused
    assert HEADER in remap.refused


def test_configured_trusted_proxy(tmp_path: Path) -> None:
    p = policy(tmp_path, trusted_proxies=["10.1.0.0/16"])
    assert p.resolve(PROXY_BASE, "10.1.2.3") == Remap(PROXY_BASE)
    assert p.resolve(PROXY_BASE, "127.0.0.1").refused is not None  # loopback no longer listed


@pytest.mark.parametrize("header, problem", [
    (PROXY_BASE + "?next=/admin", "query"),
    (PROXY_BASE + "#x", "fragment"),
    ("https://admin:secret@cic.example.com/sts", "credentials"),
    ("https://cic.example.com@evil.example.com/", "credentials"),
    ("javascript:alert(document.cookie)", "https://"),
    ("//evil.example.com/sts", "https://"),
    ("ftp://cic.example.com/sts", "https://"),
    ("https://cic.example.com/my sts", "spaces"),
    ("https://cic.example.com/sts\r\nSet-Cookie: a=b", "control"),
    ("https://cic.example.com/\"><script>", "quotes"),
    ("https://cic.example.com/sts/../admin", ".."),
    ("https://cic.example.com/sts/%2e%2e/admin", "percent-encoded"),  # issue 12, item 11
    ("https://cic.example.com/sts/%2E%2e", "percent-encoded"),
    ("https://cic.example.com/sts/%252e%252e/admin", "percent-encoded"),
    ("https://cic.example.com/sts%2fadmin", "percent-encoded"),
    ("https://cic.example.com/sts\x85", "control"),  # C1 controls: NEL
    ("https://cic.example.com/sts\x9b31m", "control"),  # CSI
    ("https://cic.example.com/st\u00e9", "ASCII"),
    ("https://xn--bcher-kva.example/\u202e", "ASCII"),
    ("https://cic.example.com:99999/sts", "not a valid URL"),
    ("", "https://"),
])
def test_bad_header_values_are_refused(tmp_path: Path, header: str, problem: str) -> None:
    remap = policy(tmp_path).resolve(header, "127.0.0.1")
    assert remap.base_url == DEFAULT
    assert remap.refused is not None
    assert problem in remap.refused


def test_allow_list_is_enforced(tmp_path: Path) -> None:
    p = policy(tmp_path, remap_allowed_bases=[PROXY_BASE + "/", "https://other.example.com"])
    assert p.resolve(PROXY_BASE, "127.0.0.1") == Remap(PROXY_BASE)
    assert p.resolve(PROXY_BASE + "/", "::1") == Remap(PROXY_BASE)
    assert p.resolve("https://other.example.com", "127.0.0.1") == \
        Remap("https://other.example.com")
    refused = p.resolve("https://cic.example.com/elsewhere", "127.0.0.1")
    assert refused.base_url == DEFAULT
    assert refused.refused is not None and "remap_allowed_bases" in refused.refused


def test_allow_list_does_not_let_untrusted_addresses_in(tmp_path: Path) -> None:
    p = policy(tmp_path, remap_allowed_bases=[PROXY_BASE])
    remap = p.resolve(PROXY_BASE, "203.0.113.9")
    assert remap.base_url == DEFAULT
    assert remap.refused is not None


def test_the_public_base_is_always_allowed_beside_the_list(tmp_path: Path) -> None:
    """`init` writes the STS's own base into the list; the proxy's base, once configured as
    server.public_base_url, is accepted without also being listed."""
    p = policy(tmp_path, public_base_url=PROXY_BASE,
               remap_allowed_bases=["https://sts.example.com:8043"])
    assert p.resolve(PROXY_BASE, "127.0.0.1") == Remap(PROXY_BASE)
    assert p.resolve("https://sts.example.com:8043", "127.0.0.1").refused is None
    assert p.resolve("https://phishing.example", "127.0.0.1").refused is not None


def test_a_clean_header_is_believed_only_when_nothing_is_configured(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with caplog.at_level(logging.WARNING):
        open_policy = policy(tmp_path)
    assert "remap_allowed_bases and server.public_base_url are empty" in caplog.text
    assert open_policy.resolve("https://anything.example", "127.0.0.1").refused is None
