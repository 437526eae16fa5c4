"""The golden images (scripts/guest-image, scripts/test-hosts --golden) disable the units listed in the baseline
role's files/enabled-units.txt. A unit there that the role never starts would stay off on every migrated server."""

import re
from pathlib import Path

ROLE = Path(__file__).resolve().parents[2] / "roles" / "baseline"


def listed_units() -> list[str]:
    lines = (ROLE / "files" / "enabled-units.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def started_by_role() -> set[str]:
    """The names given to the role's service tasks and handlers (`name: X` under a service module)."""
    names: set[str] = set()
    for path in [*sorted((ROLE / "tasks").glob("*.yml")), ROLE / "handlers" / "main.yml"]:
        text = path.read_text(encoding="utf-8")
        for block in re.split(r"\n- ", text):
            if re.search(r"ansible\.builtin\.(service|systemd_service):", block):
                names.update(re.findall(r"^\s+name:\s*([\w@.-]+)\s*$", block, re.MULTILINE))
                names.update(re.findall(r"^\s+-\s*([\w@.-]+\.service)\s*$", block, re.MULTILINE))
    return {n if n.endswith(".service") else f"{n}.service" for n in names}


def test_every_unit_the_images_disable_is_started_by_the_role() -> None:
    units = listed_units()
    assert units, "the list is empty: the images would leave the packages' units enabled before the role runs"
    missing = sorted(set(units) - started_by_role())
    assert not missing, f"listed in enabled-units.txt but never started by the baseline role: {missing}"


def test_the_list_names_units_only() -> None:
    assert all(re.fullmatch(r"[a-z0-9@.-]+\.service", u) for u in listed_units())
