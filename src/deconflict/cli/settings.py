"""``deconflict settings``: every setting, its variable, default and current value."""

from __future__ import annotations

import argparse
import json
from typing import Any

from deconflict.config import CONFIG_FILE_ENV, load_settings, setting_infos, settings_markdown

__all__ = ["add_settings_parser", "run_settings"]


def add_settings_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``settings`` to the ``deconflict`` parser."""
    parser = sub.add_parser(
        "settings",
        help="list every setting: environment variable, TOML key, default, current value",
        description=(
            "Every setting with its DECONFLICT_* variable, its key in a TOML settings file "
            f"(--config FILE or {CONFIG_FILE_ENV}), its default and the value in effect here."
        ),
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="the values in effect as one JSON document")
    output.add_argument("--markdown", action="store_true", help="the README's table of settings")


def run_settings(args: argparse.Namespace) -> int:
    """Run ``deconflict settings``."""
    if args.markdown:
        print(settings_markdown(), end="")
        return 0
    current: dict[str, Any] = load_settings().model_dump(mode="json")
    if args.json:
        print(json.dumps(current, indent=2))
        return 0
    from rich.table import Table

    from deconflict.cli.output import console

    table = Table(title="Settings (* differs from the default)", title_justify="left")
    for column in ("variable", "value", "default", "meaning"):
        table.add_column(column)
    for info in setting_infos():
        value = current[info.name]
        shown = "(none)" if value is None else json.dumps(value) if isinstance(value, list) else str(value)
        mark = "" if shown == info.default else " *"
        table.add_row(info.env, shown + mark, info.default, info.description)
    console().print(table)
    return 0
