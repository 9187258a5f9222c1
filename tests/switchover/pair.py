"""A switchover pair on loopback, and the proxies in front of it, for the switchover test and
`make bench-switchover`.

Two STS servers (real gunicorn over TLS, `cic-sts serve`) on 127.0.0.2 and 127.0.0.3, one port
chosen at run time, one configuration and one set of keys, users and session secret, like the
two CIC servers of a pair; the state backend is the cookie or Redis. In front, real nginx and
real HAProxy, each running the configuration `cic-sts proxy nginx` / `cic-sts proxy haproxy`
wrote from that file's `[proxy]` section, unedited (but for nginx's temporary folders when not
root), under its own prefix.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner

from idp.cli import cli
from idp.config import load_config
from idp.proxy.check import find_proxy, with_temp_paths
from idp.proxy.model import Proxy, Upstream
from idp.proxy.ready import tls_context, wait_ready
from tests.conftest import CHEAP_HASHER, write_config
from tests.servers import (
    PAIR,
    free_port,
    pair_port,
    pair_proxy_section,
    redis_server,
    stop,
    wait_until_responds,
)

PROXIES: tuple[Proxy, ...] = ("nginx", "haproxy")
PASSWORD = "switchover pass phrase"
#: The STS's own default (server.stop_drain): the pair stops as a production one does.
STOP_DRAIN = 3


@dataclass
class Sts:
    """One STS server of the pair, started and stopped the way an operator (or a crash) would."""

    address: str
    port: int
    config: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def bind(self) -> str:
        return f"{self.address}:{self.port}"

    def start(self, timeout: float = 30) -> None:
        """`cic-sts serve`, then the documented wait: /readyz answers 200."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "idp", "--config", str(self.config), "serve", "--bind",
                 self.bind], stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1", "GUNICORN_CMD_ARGS": ""})
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 30) -> None:
        context = tls_context(self.config.parent / "certs" / "tls.crt", insecure=False)
        [state] = wait_ready([Upstream(self.address, self.port)], timeout=timeout,
                             context=context, name="localhost")
        if not state.ready:
            raise RuntimeError(f"STS {self.bind} not ready: {state.detail}")

    def signal(self, number: signal.Signals) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, number)

    def graceful_stop(self) -> None:
        """What `systemctl stop` does to the unit: SIGTERM to every process, then wait."""
        self.signal(signal.SIGTERM)
        assert self.process is not None
        self.process.wait(timeout=60)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        assert self.process is not None
        self.process.wait(timeout=10)

    def close(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.signal(signal.SIGCONT)
            stop(self.process)


@dataclass
class RunningProxy:
    name: Proxy
    base: str  # the public base: https://127.0.0.1:<port>/PureConnect
    config: Path
    process: subprocess.Popen[bytes]
    generated: dict[str, object] = field(default_factory=dict)


@dataclass
class Pair:
    folder: Path
    config: Path
    servers: dict[str, Sts]
    proxies: dict[Proxy, RunningProxy]
    backend: str
    kills: list[tuple[float, float]] = field(default_factory=list)  # (SIGKILL sent, dead)

    @property
    def ca_file(self) -> Path:
        return self.folder / "certs" / "tls.crt"

    def serving(self) -> Sts:
        """The server that answers most now (with round robin both do: the first, then): the
        one whose access log grows faster over half a second."""
        def lines() -> dict[str, int]:
            return {a: s.log.read_bytes().count(b"\n") for a, s in self.servers.items()}
        before = lines()
        time.sleep(0.5)
        after = lines()
        growth = {a: after[a] - before[a] for a in PAIR}
        busiest = max(PAIR, key=lambda a: growth[a])
        return self.servers[busiest if growth[busiest] > 2 * min(growth.values()) else PAIR[0]]

    def other(self, server: Sts) -> Sts:
        return next(s for s in self.servers.values() if s is not server)


def seed_users(database: Path, count: int) -> None:
    """`count` distinct users (user00000, ...), stored with a cheap hasher as the suite does."""
    seed_named(database, [f"user{i:05d}" for i in range(count)])


def seed_named(database: Path, user_ids: list[str]) -> None:
    from idp.auth.local import LocalDirectory
    from idp.users import CicUser

    directory = LocalDirectory(database, hasher=CHEAP_HASHER)
    directory.upsert_many([(CicUser(user_id, user_id, f"{user_id}@example.com"), PASSWORD)
                           for user_id in user_ids])


@dataclass(frozen=True)
class Variant:
    """What the bench may change to measure what a rule is worth (tests use the default):
    templates other than proxy_templates/, the STS's drain, which proxies, extra inputs."""

    templates: Path | None = None
    stop_drain: int = STOP_DRAIN
    proxies: tuple[Proxy, ...] = PROXIES
    options: tuple[str, ...] = ()


@contextmanager
def switchover_pair(folder: Path, key_dir: Path, backend: str, users: int = 3000,
                    variant: Variant = Variant()) -> Iterator[Pair]:
    """Both STS servers started, both proxies running in front of them; all stopped at the
    end whatever happens."""
    sts_port = pair_port(PAIR)
    ports: dict[Proxy, int] = {name: free_port() for name in PROXIES}
    bases = {name: f"https://127.0.0.1:{port}/PureConnect" for name, port in ports.items()}
    with ExitStack() as stack:
        state = '\n[state]\nbackend = "cookie"\n'
        if backend == "redis":
            url = stack.enter_context(redis_server(free_port(), folder / "redis.log"))
            state = f'\n[state]\nbackend = "redis"\nredis_url = "{url}"\n'
        path = write_config(folder, key_dir, machine="127.0.0.1", port=sts_port,
                            stop_drain=variant.stop_drain)
        text = path.read_text().replace(
            "[server]\n", f'[server]\npublic_base_url = "{bases["nginx"]}"\n'
            f'remap_allowed_bases = ["{bases["nginx"]}", "{bases["haproxy"]}"]\n', 1)
        path.write_text(text + state + pair_proxy_section(sts_port))
        seed_users(load_config(path).directory.database, users)
        certs = folder / "certs"
        (certs / "proxy.pem").write_text((certs / "tls.crt").read_text()
                                         + (certs / "tls.key").read_text())
        servers = {address: Sts(address, sts_port, path, folder / f"sts-{address}.log")
                   for address in PAIR}
        for server in servers.values():
            stack.callback(server.close)
            server.start()
        proxies = {name: stack.enter_context(running_proxy(name, path, folder / name,
                                                           ports[name], bases[name], variant))
                   for name in variant.proxies}
        yield Pair(folder, path, servers, proxies, backend)


@contextmanager
def running_proxy(name: Proxy, config: Path, prefix: Path, port: int, base: str,
                  variant: Variant = Variant()) -> Iterator[RunningProxy]:
    """`cic-sts proxy NAME --check` writes the configuration; the real proxy runs it in the
    foreground (its pid and logs in `prefix`), stopped whatever happens."""
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    conf = prefix / ("nginx.conf" if name == "nginx" else "haproxy.cfg")
    options = ["--public-port", str(port), "--pid-file", str(prefix / f"{name}.pid")]
    if name == "nginx":
        options += ["--log-dir", str(prefix / "logs")]
    else:  # HAProxy reads the key from the certificate's file
        pem = str(config.parent / "certs" / "proxy.pem")
        options += ["--tls-cert", pem, "--tls-key", pem]
    options += variant.options
    if variant.templates is None:
        result = CliRunner().invoke(cli, ["--config", str(config), "proxy", name, *options,
                                          "--output", str(conf), "--check", "--format",
                                          "json"], catch_exceptions=False)
        if result.exit_code != 0:
            raise RuntimeError(f"cic-sts proxy {name}: {result.output}")
        generated = json.loads(result.stdout)
    else:
        generated = render_variant(name, config, options, conf, variant.templates)
    executable = find_proxy(name)
    if name == "nginx":
        if os.geteuid() != 0:  # the compiled-in temporary folders need root
            conf.write_text(with_temp_paths(conf.read_text(), prefix))
        # a configuration without a pid line (an older one) would take Debian's pid file
        pid = "" if "\npid " in conf.read_text() else f" pid {prefix}/nginx.pid;"
        command = [executable, "-p", f"{prefix}/", "-c", str(conf), "-e",
                   str(prefix / "error.log"), "-g", f"daemon off;{pid}"]
    else:
        command = [executable, "-db", "-f", str(conf)]
    out = (prefix / f"{name}.out").open("wb")
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        wait_until_responds(f"{base}/healthz", timeout=15, process=process)
        yield RunningProxy(name, base, conf, process, generated)
    finally:
        stop(process)
        out.close()


def render_variant(name: Proxy, config: Path, options: list[str], conf: Path,
                   templates: Path) -> dict[str, object]:
    """What `cic-sts proxy NAME` would write, from other templates (the bench's variants)."""
    from idp.proxy.render import render
    from idp.proxy.sources import from_config, from_options
    from idp.proxy.validate import validate

    keys = {"--public-port": "public_port", "--pid-file": "pid_file", "--log-dir": "log_dir",
            "--tls-cert": "tls_certificate", "--tls-key": "tls_key",
            "--stickiness": "stickiness"}
    given = from_config(load_config(config))
    given.update(from_options({keys[o]: v for o, v in zip(options[::2], options[1::2],
                                                           strict=True)}, config.parent))
    text = render(validate(given, name).inputs, proxy=name, templates=templates).text
    conf.write_text(text)
    return {"config": text}
