"""The documented install, for real: a wheel, `deploy/install.sh` into a scratch root (overlays
on /etc, /opt, /var/lib, /var/log, /run in a private mount namespace, see tests/unit_sandbox.py),
twice; the STS started exactly as its unit says (user, folders, read-only system) answering
/readyz; `systemd-analyze verify` on the units; and every part of the wheel working from the
installed virtual environment, which has no test extras."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from idp.commands.install import UNITS
from tests.conftest import hidden_fields
from tests.servers import free_port, stop, wait_until_responds

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
SANDBOX = [sys.executable, str(REPO / "tests" / "unit_sandbox.py")]


def _namespaces_work() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("setpriv"):
        return False
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                           capture_output=True)
    return probe.returncode == 0


needs_root = pytest.mark.skipif(not _namespaces_work(),
                                reason="needs root and mount namespaces (unshare)")


@dataclass
class Installed:
    root: Path
    wheel: Path
    port: int
    first: str  # what the first install.sh run printed
    second: str
    keys_before: dict[str, bytes]

    def upper(self, path: str) -> Path:
        """Where `path` (as the sandbox sees it) lives in the scratch root."""
        for top in ("/var/lib", "/var/log", "/etc", "/opt", "/run"):
            if path == top or path.startswith(top + "/"):
                layer = top.strip("/").replace("/", "_")
                return self.root / "upper" / layer / path[len(top):].lstrip("/")
        raise ValueError(path)

    @property
    def venv_python(self) -> Path:
        return self.upper("/opt/cic-sts/venv/bin/python")

    def sandbox(self, mode: str, *argv: str, check: bool = True
                ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["unshare", "--mount", "--propagation", "private", *SANDBOX,
                               str(self.root), mode, *argv], capture_output=True, text=True,
                              check=check, timeout=300)


def _install(root: Path, wheel: Path, port: int) -> str:
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", *SANDBOX, str(root), "install",
         "sh", str(REPO / "deploy" / "install.sh"), str(wheel), "--machine-name", "localhost",
         "--machine-name", "127.0.0.1", "--port", str(port), "--bind", "127.0.0.1"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    if not _namespaces_work():
        pytest.skip("needs root and mount namespaces (unshare)")
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(dist), str(REPO)], check=True, capture_output=True, timeout=300)
    wheel = next(dist.glob("cic_sts-*.whl"))
    root = tmp_path_factory.mktemp("root")
    port = free_port()
    first = _install(root, wheel, port)
    probe = Installed(root, wheel, port, first, "", {})
    keys = {name: probe.upper(f"/etc/cic-sts/certs/{name}").read_bytes()
            for name in ("saml-signing.key", "tls.key", "session.secret")}
    second = _install(root, wheel, port)
    return Installed(root, wheel, port, first, second, keys)


@needs_root
def test_install_creates_the_layout(installed: Installed) -> None:
    passwd = installed.upper("/etc/passwd").read_text()
    entry = next(line for line in passwd.splitlines() if line.startswith("cic-sts:"))
    _, _, uid, gid, _, home, shell = entry.split(":")
    assert int(uid) < 1000 and shell == "/usr/sbin/nologin" and home == "/var/lib/cic-sts"
    group = next(line for line in installed.upper("/etc/group").read_text().splitlines()
                 if line.startswith("cic-sts:"))
    assert group.split(":")[2] == gid

    def owner_mode(path: str) -> tuple[int, int, int]:
        st = installed.upper(path).stat()
        return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)

    assert owner_mode("/etc/cic-sts") == (0, int(gid), 0o750)
    assert owner_mode("/etc/cic-sts/cic-sts.toml") == (0, int(gid), 0o640)
    for secret in ("saml-signing.key", "tls.key", "session.secret"):
        assert owner_mode(f"/etc/cic-sts/certs/{secret}") == (0, int(gid), 0o640)
    assert owner_mode("/var/lib/cic-sts") == (int(uid), int(gid), 0o750)
    assert owner_mode("/var/lib/cic-sts/cic-users.db")[:2] == (int(uid), int(gid))
    assert owner_mode("/var/log/cic-sts") == (int(uid), int(gid), 0o750)
    config = tomllib.loads(installed.upper("/etc/cic-sts/cic-sts.toml").read_text())
    # every file written at run time is under the state (or log) folder
    assert config["directory"]["database"] == "/var/lib/cic-sts/cic-users.db"
    assert config["sync"]["state_database"] == "/var/lib/cic-sts/cic-sync.db"
    assert config["monitoring"]["audit_log"] == "/var/log/cic-sts/audit.log"
    for unit in UNITS:
        assert (installed.upper(f"/etc/systemd/system/{unit}").read_bytes()
                == (REPO / "deploy" / unit).read_bytes())


@needs_root
def test_install_is_safe_to_run_twice(installed: Installed) -> None:
    assert "created user cic-sts" in installed.first
    assert "created user" not in installed.second and "created group" not in installed.second
    assert "kept existing configuration /etc/cic-sts/cic-sts.toml" in installed.second
    assert "already up to date" in installed.second
    for name, before in installed.keys_before.items():
        assert installed.upper(f"/etc/cic-sts/certs/{name}").read_bytes() == before, name
    passwd = installed.upper("/etc/passwd").read_text()
    assert passwd.count("\ncic-sts:") + passwd.startswith("cic-sts:") == 1


@needs_root
def test_systemd_analyze_accepts_the_units(installed: Installed) -> None:
    units = [f"/etc/systemd/system/{unit}" for unit in UNITS]
    result = installed.sandbox("install", "systemd-analyze", "verify", *units, check=False)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    # ... and it does find faults: the same unit with a relative ExecStart is refused
    broken = installed.upper("/etc/systemd/system/broken.service")
    broken.write_text((REPO / "deploy" / "cic-sts.service").read_text().replace(
        "ExecStart=/opt/cic-sts/venv/bin/cic-sts", "ExecStart=cic-sts/bin/cic-sts"))
    try:
        result = installed.sandbox("install", "systemd-analyze", "verify",
                                   "/etc/systemd/system/broken.service", check=False)
        assert result.returncode != 0 and "bad unit file setting" in result.stderr
    finally:
        broken.unlink()


@needs_root
def test_the_unit_sandbox_is_the_units(installed: Installed) -> None:
    """What the service may read and write, run as cic-sts.service says."""
    probe = ("for p in /etc/cic-sts/x /usr/x /opt/cic-sts/x /var/lib/x; do touch $p 2>/dev/null"
             " && echo rw $p || echo ro $p; done; "
             "for p in /var/lib/cic-sts/x /var/log/cic-sts/x $RUNTIME_DIRECTORY/x /tmp/x; do "
             "touch $p && echo rw $p; done; cat /etc/cic-sts/certs/saml-signing.key >/dev/null"
             " && echo read key; ls /root >/dev/null 2>&1 || echo no home; id -un; pwd; "
             "echo $CIC_STS_CONFIG")
    result = installed.sandbox("unit", "/etc/systemd/system/cic-sts.service", "sh", "-c", probe)
    lines = result.stdout.split("\n")
    for path in ("/etc/cic-sts/x", "/usr/x", "/opt/cic-sts/x", "/var/lib/x"):
        assert f"ro {path}" in lines
    for path in ("/var/lib/cic-sts/x", "/var/log/cic-sts/x", "/run/cic-sts/x", "/tmp/x"):
        assert f"rw {path}" in lines
    assert lines[-6:] == ["read key", "no home", "cic-sts", "/var/lib/cic-sts",
                          "/etc/cic-sts/cic-sts.toml", ""]


@pytest.fixture(scope="module")
def running(installed: Installed, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[subprocess.Popen[bytes]]:
    log = tmp_path_factory.mktemp("unit-log") / "cic-sts.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", *SANDBOX, str(installed.root),
             "unit", "/etc/systemd/system/cic-sts.service"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_responds(f"https://127.0.0.1:{installed.port}/healthz", timeout=60,
                            process=process)
        yield process
    finally:
        stop(process)


@needs_root
def test_the_sts_started_as_the_unit_answers_readyz(installed: Installed,
                                                   running: subprocess.Popen[bytes]) -> None:
    answer = httpx.get(f"https://127.0.0.1:{installed.port}/readyz", verify=False)
    assert answer.status_code == 200 and answer.json()["status"] == "ready"
    status = Path(f"/proc/{running.pid}/status").read_text()
    uid = re.search(r"^Uid:\s+(\d+)", status, re.M)
    assert uid is not None
    cic = next(line for line in installed.upper("/etc/passwd").read_text().splitlines()
               if line.startswith("cic-sts:"))
    assert uid.group(1) == cic.split(":")[2]  # gunicorn's master runs as cic-sts
    assert re.search(r"^NoNewPrivs:\s+1", status, re.M)
    # the workers' metrics live in the unit's RuntimeDirectory and add up
    scraped = httpx.get(f"https://127.0.0.1:{installed.port}/metrics", verify=False)
    assert scraped.status_code == 200
    assert 'cic_sts_request_duration_seconds_count{endpoint="health.readyz"}' in scraped.text
    assert list(installed.upper("/run/cic-sts/metrics").glob("*.db"))


@needs_root
def test_the_wheel_has_no_test_extras_and_runs_the_proxy_generator(
        installed: Installed, tmp_path: Path) -> None:
    python = str(installed.venv_python)
    listed = subprocess.run([python, "-m", "pip", "list", "--format=freeze"],
                            capture_output=True, text=True, check=True).stdout.lower()
    for extra in ("pytest", "playwright", "scim2-server", "python3-saml", "mypy"):
        assert f"\n{extra}==" not in f"\n{listed}", extra
    assert "\npackaging==" in f"\n{listed}"  # gunicorn's gevent worker needs it undeclared
    run = [python, "-m", "idp", "--config", str(tmp_path / "cic-sts.toml")]
    subprocess.run([*run, "init", "--machine-name", "sts1.example.com"], check=True,
                   capture_output=True, cwd=tmp_path)
    rendered = subprocess.run(
        [*run, "proxy", "nginx", "--server", "127.0.0.2", "--server", "127.0.0.3",
         "--public-host", "sts.example.com", "--no-verify-upstream",
         "--tls-cert", str(tmp_path / "certs" / "tls.crt"),
         "--tls-key", str(tmp_path / "certs" / "tls.key")],
        capture_output=True, text=True, cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    assert "upstream pureconnect_servers" in rendered.stdout
    assert "server 127.0.0.3:8043" in rendered.stdout


@needs_root
def test_the_wheel_runs_the_demo_in_every_language(installed: Installed,
                                                   tmp_path: Path) -> None:
    """The demo extra from the same wheel: the SP, the STS's logon page in German (locales,
    templates, static files), and a logon that ends at the SP."""
    python = str(installed.venv_python)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--constraint",
                    str(REPO / "constraints.txt"), f"{installed.wheel}[demo]"], check=True,
                   capture_output=True, timeout=300)
    port, sp_port = free_port(), free_port()
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [python, "-m", "idp", "demo", "--dir", str(tmp_path / "demo"), "--port", str(port),
             "--sp-port", str(sp_port)], stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=tmp_path)
    try:
        wait_until_responds(f"https://127.0.0.1:{port}/healthz", timeout=60, process=process)
        wait_until_responds(f"https://127.0.0.1:{sp_port}/", timeout=30, process=process)
        with httpx.Client(verify=False, follow_redirects=True,
                          headers={"Accept-Language": "de"}) as browser:
            page = browser.get(f"https://localhost:{sp_port}/login")
            assert page.status_code == 200
            assert "Melden Sie sich mit Ihren PureConnect-Zugangsdaten an" in page.text
            css = browser.get(f"https://localhost:{port}/ICNotifierIDP/static/sts.css")
            assert css.status_code == 200 and "{" in css.text
            form = hidden_fields(page.text, "ctx", "csrf")
            answer = browser.post(f"https://localhost:{port}/ICNotifierIDP/login?loginType=saml",
                                  data={**form, "user_id": "demo",
                                        "password": "PureConnect-demo-1"})
            fields = hidden_fields(answer.text, "SAMLResponse", "RelayState")
            landed = browser.post(f"https://localhost:{sp_port}/acs", data=fields)
            assert landed.status_code == 200 and "demo.agent@example.com" in landed.text
        listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
        for line in listening.splitlines():
            if f":{port} " in line or f":{sp_port} " in line:
                assert "127.0.0.1:" in line, line  # loopback only
        assert (tmp_path / "demo" / "cic-users.db").exists()
        assert not (tmp_path / "cic-sts.toml").exists()  # nothing outside --dir
    finally:
        stop(process)
