"""The editor schema of a stack's `shuyaku:` keys accepts the committed stacks and refuses a typo'd key."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas" / "stack-config.json").read_text(encoding="utf-8"))
STACKS = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))


def _shuyaku_keys(path: Path) -> dict:
    config = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("config") or {}
    return {k: v for k, v in config.items() if k.startswith("shuyaku:")}


@pytest.mark.parametrize("stack", STACKS, ids=lambda p: p.name)
def test_committed_stack_configs_follow_the_schema(stack: Path) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(_shuyaku_keys(stack))


def test_a_misspelt_key_is_refused_by_the_schema() -> None:
    values = _shuyaku_keys(STACKS[0])
    values["shuyaku:proxyCIDR"] = "198.18.0.1/32"
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(values))
    assert any("proxyCIDR" in e.message for e in errors)
