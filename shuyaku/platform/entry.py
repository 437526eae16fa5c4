"""What `stacks/__main__.py` runs: read the `shuyaku:` config once, check it, build the site, export outputs.

A config problem stops the program before any resource is registered, with every problem listed in
Japanese and in English (the engine prints a RunError's text without a Python traceback).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from shuyaku.platform import config, program


def config_values() -> dict[str, Any]:
    """Every `shuyaku:` key the engine passed, so a misspelt key is reported rather than ignored."""
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    prefix = config.NAMESPACE + ":"
    return {k[len(prefix) :]: runtime_config.get_config(k) for k in sorted(keys) if k.startswith(prefix)}


def load(project_root: Path, values: dict[str, Any] | None = None, stack: str | None = None) -> config.PlatformConfig:
    stack = stack or pulumi.get_stack()
    values = config_values() if values is None else values
    config_file = project_root / "stacks" / f"Pulumi.{stack}.yaml"
    try:
        return config.load(values, stack=stack, project_root=project_root, config_file=config_file)
    except config.ConfigError as exc:
        # Both languages from the one load: the engine's output is often pasted into a ticket read by someone else.
        raise pulumi.RunError(exc.render_both()) from None


def main(project_root: Path) -> program.Platform:
    cfg = load(project_root)
    program.tune_gc()
    platform = program.build(cfg)
    program.export(platform)
    return platform
