"""Run a command as a systemd unit would, where systemd is not running (tests only).

    unshare --mount --propagation private python3 tests/unit_sandbox.py ROOT install CMD...
    unshare --mount --propagation private python3 tests/unit_sandbox.py ROOT unit FILE [CMD...]

Both first lay overlays on /etc, /opt, /var/lib, /var/log and /run whose upper layers are
ROOT/upper/<name>: what an installer writes lands in ROOT, and the machine is untouched.
`install` then runs CMD as root. `unit` reads the unit FILE and applies what its [Service]
section says before it runs ExecStart (or CMD): PrivateTmp, State/Logs/RuntimeDirectory,
ReadWritePaths, ProtectSystem=strict (every other mount read-only), ReadOnlyPaths,
ProtectHome, UMask, WorkingDirectory, Environment, then User/Group and NoNewPrivileges with
setpriv. Anything else in [Service] that would change how the process runs is refused, so the
emulation cannot silently drift from the unit.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

OVERLAID = ("/etc", "/opt", "/var/lib", "/var/log", "/run")
API_FILESYSTEMS = ("/proc", "/sys", "/dev")
# [Service] keys that do not change the environment a started process sees.
INERT = {"Type", "ExecReload", "Restart", "RestartSec", "TimeoutStopSec"}
APPLIED = {"User", "Group", "WorkingDirectory", "Environment", "ExecStart", "UMask",
           "StateDirectory", "LogsDirectory", "RuntimeDirectory", "NoNewPrivileges",
           "PrivateTmp", "ProtectSystem", "ProtectHome", "ReadWritePaths", "ReadOnlyPaths"}


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def overlay(root: Path) -> None:
    for target in OVERLAID:
        upper = root / "upper" / target.strip("/").replace("/", "_")
        work = root / "work" / target.strip("/").replace("/", "_")
        upper.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        mount("-t", "overlay", "overlay", "-o",
              f"lowerdir={target},upperdir={upper},workdir={work}", target)


def service_section(unit: Path) -> dict[str, list[str]]:
    section: dict[str, list[str]] = {}
    current = ""
    for raw in unit.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = line
            continue
        if current == "[Service]":
            key, _, value = line.partition("=")
            section.setdefault(key.strip(), []).append(value.strip())
    unknown = set(section) - INERT - APPLIED
    if unknown:
        raise SystemExit(f"unit_sandbox: cannot emulate {', '.join(sorted(unknown))}")
    return section


def one(section: dict[str, list[str]], key: str, default: str = "") -> str:
    return section.get(key, [default])[-1]


def words(section: dict[str, list[str]], key: str) -> list[str]:
    return [word for value in section.get(key, []) for word in value.split()]


def remount_read_only(keep: set[str]) -> None:
    """ProtectSystem=strict: every mount read-only but the API file systems and `keep`."""
    points = []
    with open("/proc/self/mountinfo") as info:
        for line in info:
            point = line.split()[4].replace("\\040", " ")
            if point in keep or any(point == api or point.startswith(api + "/")
                                    for api in API_FILESYSTEMS):
                continue
            points.append(point)
    for point in points:
        result = subprocess.run(["mount", "-o", "remount,bind,ro", point],
                                capture_output=True)
        if result.returncode and (point in ("/", *OVERLAID) or point.startswith("/usr")):
            raise SystemExit(f"unit_sandbox: cannot make {point} read-only")


def run_unit(unit: Path, override: list[str]) -> None:
    section = service_section(unit)
    account = pwd.getpwnam(one(section, "User"))
    gid = account.pw_gid
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "HOME": account.pw_dir, "USER": account.pw_name, "LOGNAME": account.pw_name,
           "SHELL": account.pw_shell}
    for assignment in section.get("Environment", []):
        for item in shlex.split(assignment):
            key, _, value = item.partition("=")
            env[key] = value
    writable: set[str] = set(words(section, "ReadWritePaths"))
    for key, base, variable in (("StateDirectory", "/var/lib", "STATE_DIRECTORY"),
                                ("LogsDirectory", "/var/log", "LOGS_DIRECTORY"),
                                ("RuntimeDirectory", "/run", "RUNTIME_DIRECTORY")):
        for name in words(section, key):
            path = Path(base) / name
            if key == "RuntimeDirectory":
                shutil.rmtree(path, ignore_errors=True)  # systemd makes it afresh each start
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, account.pw_uid, gid)
            writable.add(str(path))
            env[variable] = str(path)
    if one(section, "PrivateTmp") == "yes":
        for tmp in ("/tmp", "/var/tmp"):
            mount("-t", "tmpfs", "-o", "mode=1777", "tmpfs", tmp)
            writable.add(tmp)
    for folder in sorted(writable):
        if not folder.startswith(("/tmp", "/var/tmp")):
            mount("--bind", folder, folder)
    read_only = words(section, "ReadOnlyPaths")
    for folder in read_only:
        mount("--bind", folder, folder)
    if one(section, "ProtectSystem") != "strict":
        raise SystemExit("unit_sandbox: only ProtectSystem=strict is emulated")
    remount_read_only(writable)
    for folder in read_only:
        mount("-o", "remount,bind,ro", folder)
    if one(section, "ProtectHome") == "yes":
        for home in ("/home", "/root", "/run/user"):
            if os.path.isdir(home):
                mount("-t", "tmpfs", "-o", "ro,mode=000", "tmpfs", home)
    os.umask(int(one(section, "UMask", "0022"), 8))
    os.chdir(one(section, "WorkingDirectory", "/"))
    argv = override or shlex.split(one(section, "ExecStart"))
    setpriv = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={gid}", "--init-groups"]
    if one(section, "NoNewPrivileges") == "yes":
        setpriv.append("--no-new-privs")
    os.execvpe("setpriv", [*setpriv, "--", *argv], env)


def main() -> None:
    root, mode, *rest = sys.argv[1:]
    overlay(Path(root))
    if mode == "install":
        os.execvp(rest[0], rest)
    run_unit(Path(rest[0]), rest[1:])


if __name__ == "__main__":
    main()
