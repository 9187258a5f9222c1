"""The real `nginx -t` or `haproxy -c` on what was rendered, in a throw-away prefix.

The check renders the same inputs once more with stand-ins where this machine cannot provide
the real thing (`idp.proxy.standins`: certificate files that live on the proxy machine, the log
folder, the pid file, listen addresses) and runs the proxy's own check on it inside a temporary
folder, so it needs no root and touches nothing of the installed proxy. The stand-ins change
values, never lines, so the line the proxy cites is the line of the real output; the error
carries the proxy's own message and that line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from idp.errors import ProxyConfigError
from idp.proxy.model import Proxy, ProxyInputs
from idp.proxy.render import Rendered, render
from idp.proxy.standins import stand_ins

LOCATIONS: dict[Proxy, tuple[str, ...]] = {
    "nginx": ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"),
    "haproxy": ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy"),
}
COMMANDS: dict[Proxy, str] = {"nginx": "nginx -t", "haproxy": "haproxy -c"}
TIMEOUT = 30
#: A problem line and where it points: nginx's "... in FILE:LINE", HAProxy's "[FILE:LINE]".
_PROBLEM: dict[Proxy, re.Pattern[str]] = {
    "nginx": re.compile(r"nginx: \[(emerg|alert|crit|error)\] (.*)"),
    "haproxy": re.compile(r"\[(ALERT)\] +\(\d+\) : (.*)"),
}
_WHERE: dict[Proxy, re.Pattern[str]] = {
    "nginx": re.compile(r"(.*) in (?P<file>\S+):(?P<line>\d+)$"),
    "haproxy": re.compile(r"(.*)\[(?P<file>[^\[\]:]+):(?P<line>\d+)\](.*)"),
}
_TEMP_PATHS = ("client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path",
               "uwsgi_temp_path", "scgi_temp_path")


class NginxRejected(ProxyConfigError):
    """The proxy's check refused the configuration; carries its text and the line it cited.
    (The name is older than the HAProxy renderer: the same for both.)"""

    def __init__(self, message: str, output: str, line: int | None, line_text: str | None):
        super().__init__(message)
        self.output = output
        self.line = line
        self.line_text = line_text


@dataclass(frozen=True)
class Checked:
    output: str  # the proxy's own words, with the temporary paths put back to the real ones
    stand_ins: list[str]  # what was replaced for the test, for the report


def find_proxy(proxy: Proxy, explicit: str | None = None) -> str:
    if explicit:
        if shutil.which(explicit) is None:
            raise ProxyConfigError(f"--{proxy}: {explicit}: not an executable")
        return explicit
    found = shutil.which(proxy) or next(
        (p for p in LOCATIONS[proxy] if os.access(p, os.X_OK)), None)
    if found is None:
        raise ProxyConfigError(f"--check needs {proxy}, which is not installed here (or give "
                               f"--{proxy} PATH)")
    return found


def find_nginx(explicit: str | None = None) -> str:
    return find_proxy("nginx", explicit)


def nginx_test(inputs: ProxyInputs, snippet: bool, *, name: str = "",
               nginx: str | None = None, templates: Path | None = None) -> Checked:
    """Run `nginx -t` on the rendering of `inputs`; raise `NginxRejected` if nginx refuses it.

    `name` is how the output is called in messages (the output file, or nginx.conf).
    """
    return proxy_check(inputs, "nginx", snippet, name=name, executable=nginx,
                       templates=templates)


def proxy_check(inputs: ProxyInputs, proxy: Proxy, snippet: bool = False, *, name: str = "",
                executable: str | None = None, templates: Path | None = None) -> Checked:
    """Run the check of `proxy` (`nginx -t`, `haproxy -c`) on the rendering of `inputs`."""
    real = render(inputs, snippet, templates, proxy)
    name = name or ("conf.d/cic-sts.conf" if snippet else real.kind)
    program = find_proxy(proxy, executable)
    with tempfile.TemporaryDirectory(prefix=f"cic-sts-{proxy}-check-") as folder:
        prefix = Path(folder)
        (prefix / "logs").mkdir()
        stand_in, replaced, notes = stand_ins(inputs, prefix, proxy)
        checked = render(stand_in, snippet, templates, proxy)
        if checked.text.count("\n") != real.text.count("\n"):
            raise AssertionError("stand-ins changed the number of lines")  # a template bug
        conf, main = _lay_out(checked, prefix)
        if proxy == "nginx":
            command = [program, "-t", "-p", f"{prefix}/", "-c", str(main),
                       "-e", str(prefix / "logs" / "error.log")]
        else:
            command = [program, "-c", "-f", str(main)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT,
                                  env={**os.environ, "LC_ALL": "C"}, check=False)
        except subprocess.TimeoutExpired:
            raise ProxyConfigError(f"{COMMANDS[proxy]} did not finish within {TIMEOUT} s"
                                   ) from None
        replaced[str(conf)] = name
        if main != conf:
            replaced[str(main)] = f"(a test nginx.conf that includes {name})"
        output = _put_back((done.stderr + done.stdout).strip(), replaced)
        if done.returncode != 0:
            raise _rejection(output, real, name, proxy)
    return Checked(output, notes)


def _lay_out(checked: Rendered, prefix: Path) -> tuple[Path, Path]:
    """Write the file under test (and, for a snippet, an nginx.conf that includes it)."""
    if checked.snippet:
        conf = prefix / "conf.d" / "cic-sts.conf"
        conf.parent.mkdir()
        conf.write_text(checked.text, encoding="utf-8")
        main = prefix / "nginx.conf"
        # access_log off: nginx would otherwise open its compiled-in default log
        wrapper = f"pid {prefix}/nginx.pid;\nevents {{}}\nhttp {{{_temp_paths(prefix)} " \
                  f"access_log off;\n    include {conf};\n}}\n"
        main.write_text(wrapper, encoding="utf-8")
        return conf, main
    conf = prefix / ("haproxy.cfg" if checked.proxy == "haproxy" else "nginx.conf")
    text = checked.text if checked.proxy == "haproxy" else with_temp_paths(checked.text, prefix)
    conf.write_text(text, encoding="utf-8")
    return conf, conf


def with_temp_paths(text: str, prefix: Path) -> str:
    """A complete nginx configuration whose temporary folders are under `prefix`.

    The compiled-in ones (/var/lib/nginx/... on Debian) need root. They are set on the line
    that opens the http block, so no line number moves.
    """
    lines = text.split("\n")
    opening = [i for i, line in enumerate(lines) if line == "http {"]
    if len(opening) != 1:
        raise AssertionError("the complete configuration has no single 'http {' line")
    lines[opening[0]] += _temp_paths(prefix)
    return "\n".join(lines)


def _temp_paths(prefix: Path) -> str:
    return "".join(f" {d} {prefix}/{d.removesuffix('_temp_path')};" for d in _TEMP_PATHS)


def _put_back(text: str, replaced: dict[str, str]) -> str:
    for temporary, real in sorted(replaced.items(), key=lambda item: -len(item[0])):
        text = text.replace(temporary, real)
    return text


def _rejection(output: str, real: Rendered, name: str, proxy: Proxy) -> NginxRejected:
    problem = next((m for m in map(_PROBLEM[proxy].search, output.splitlines()) if m), None)
    message = problem.group(0) if problem else output.splitlines()[0] if output else "no output"
    lines = real.text.split("\n")
    line: int | None = None
    where = _WHERE[proxy].match(message)
    if where and where.group("file") == name and where.group("line").isdigit():
        line = int(where.group("line"))
    else:  # no line named (a certificate that does not load, say): find what it quotes
        for quoted in re.findall(r"""["']([^"']+)["']""", message):
            line = next((i + 1 for i, text in enumerate(lines) if quoted in text
                         and not text.lstrip().startswith("#")), None)
            if line:
                break
    line_text = lines[line - 1].strip() if line and 0 < line <= len(lines) else None
    report = [f"{COMMANDS[proxy]} rejected the generated configuration ({real.kind}):",
              f"  {message}"]
    if line_text is not None:
        report.append(f"  line {line} of {name}: {line_text}")
    if "host not found in upstream" in message or "could not resolve address" in message:
        report.append(f"  ({proxy} resolves the servers' host names when it loads the "
                      "configuration: run --check on the proxy machine, or give IP addresses)")
    if "sticky" in message:
        report.append("  (sticky is an NGINX Plus directive: with open-source nginx use "
                      "--stickiness none)")
    return NginxRejected("\n".join(report), output, line, line_text)
