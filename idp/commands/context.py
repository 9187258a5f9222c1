"""What every subcommand shares: the configuration file, loaded lazily, and output helpers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from idp.config import Config, load_config


@dataclass
class CliContext:
    config_file: Path
    verbose: bool
    _config: Config | None = field(default=None, repr=False)

    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_file)
        return self._config


pass_cli = click.make_pass_decorator(CliContext)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))
