"""What each switchover rule is worth: variants of the generated configuration that leave one
rule out, for `bench/switchover_bench.py --variant NAME`.

- current: the configuration as generated (what `make bench-switchover` measures);
- before: the nginx configuration as generated before issue 15 (bench/switchover_before/,
  the templates of commit 1ffa760 with ip_hash, one upstream, 30 s read timeout) and an STS
  that does not drain at its stop;
- no-drain: as generated, and the STS stops accepting at once (server.stop_drain = 0);
- no-backups: nginx without the backup servers;
- post-keepalive: POSTs on kept-open connections like GETs (nginx: keepalive in the logon
  upstream; HAProxy: its logon backend without http-server-close).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from idp.proxy.render import templates_dir
from tests.switchover.pair import Variant

BEFORE = Path(__file__).resolve().parent / "switchover_before"


def edited(folder: Path, edits: dict[str, Callable[[str], str]]) -> Path:
    """A copy of proxy_templates/ in `folder`, with `edits` (file name -> change) applied."""
    target = folder / "templates"
    shutil.copytree(templates_dir(), target)
    for name, edit in edits.items():
        path = target / name
        text = path.read_text(encoding="utf-8")
        changed = edit(text)
        if changed == text:
            raise AssertionError(f"the variant changes nothing in {name}")
        path.write_text(changed, encoding="utf-8")
    return target


def without_backups(text: str) -> str:
    return text.replace("    server {{ server }} backup max_fails=0;", "    # (no backup)")


def post_keepalive_nginx(text: str) -> str:
    return text.replace("    # No keepalive: every POST goes on a new connection",
                        "    keepalive 16;\n    keepalive_timeout {{ idle_timeout }}s;\n"
                        "    # (variant) No keepalive: every POST goes on a new connection")


def post_keepalive_haproxy(text: str) -> str:
    return text.replace("    option http-server-close\n", "")


def variant(name: str, folder: Path) -> Variant:
    if name == "current":
        return Variant()
    if name == "before":
        return Variant(templates=BEFORE, stop_drain=0, proxies=("nginx",),
                       options=("--stickiness", "ip_hash"))
    if name == "no-drain":
        return Variant(stop_drain=0)
    if name == "no-backups":
        return Variant(templates=edited(folder, {"server.conf.j2": without_backups}),
                       proxies=("nginx",))
    if name == "post-keepalive":
        return Variant(templates=edited(folder, {"server.conf.j2": post_keepalive_nginx,
                                                 "haproxy.cfg.j2": post_keepalive_haproxy}))
    raise ValueError(name)


VARIANTS = ("current", "before", "no-drain", "no-backups", "post-keepalive")
