"""The generated files of a vendor project and their hashes, so a later `vendor update` keeps what the vendor
changed: a file whose hash still matches the manifest is the tool's and may be replaced; any other is the
vendor's, kept when the new version of it would not differ, else named in a refusal (nothing is written)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shuyaku.contracts.problems import Text, tx

NAME = ".shuyaku-manifest.json"


class ManifestError(Exception):
    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text

    def __str__(self) -> str:
        return str(self.text)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def write(target: Path, files: dict[str, str], about: dict[str, str], hashes: dict[str, str] | None = None) -> Path:
    """Record the generated files (their hashes as written, unless `hashes` gives them) and what they came from."""
    doc = {"generated_by": "shuyaku vendor", **about,
           "files": hashes if hashes is not None else {name: digest(text) for name, text in sorted(files.items())}}
    path = target / NAME
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    tmp.replace(path)
    return path


def read(target: Path) -> dict[str, Any]:
    path = target / NAME
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(tx(f"{path} がありません（shuyaku vendor init / grant で作ったプロジェクトではありません）",
                               f"{path} is missing (not a project made by shuyaku vendor init / grant)")) from None
    except (OSError, ValueError) as exc:
        raise ManifestError(tx(f"{path} を読めません: {exc}", f"cannot read {path}: {exc}")) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), dict):
        raise ManifestError(tx(f"{path}: files がありません", f"{path}: no files recorded"))
    return doc


@dataclass
class Update:
    """What `vendor update` will do with each generated file."""

    write: dict[str, str] = field(default_factory=dict)  # replaced or new: the tool's own, untouched by the vendor
    kept: list[str] = field(default_factory=list)  # the vendor's edits; the new version of the file is the same
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # the vendor's edits, and the new version differs
    hashes: dict[str, str] = field(default_factory=dict)  # the manifest to record afterwards


def plan(target: Path, recorded: dict[str, str], new: dict[str, str]) -> Update:
    up = Update()
    for name, text in sorted(new.items()):
        now, was, will = _file_digest(target / name), recorded.get(name), digest(text)
        if now == will:
            up.unchanged.append(name)
            up.hashes[name] = will
        elif now == was or (now is None and was is None):
            up.write[name] = text  # still what the tool wrote (or new in this version and absent)
            up.hashes[name] = will
        elif was == will:
            up.kept.append(name)  # the vendor changed (or removed) it and this version would write the same
            up.hashes[name] = was
        else:
            up.conflicts.append(name)
    return up


def refusal(target: Path, conflicts: list[str]) -> Text:
    names = ", ".join(conflicts)
    return tx(f"{target} の次のファイルはベンダーが変更しており、新しい版でも内容が変わるため上書きしません: {names}\n"
              "  変更を退避（別名で保存）してからファイルを削除し、もう一度実行してください。何も書き換えていません",
              f"the vendor changed these files in {target} and the new version changes them too, so they are not "
              f"overwritten: {names}\n  save your changes under another name, delete those files and run again. "
              "Nothing was written")


def apply(target: Path, up: Update, about: dict[str, str]) -> None:
    for name, text in up.write.items():
        path = target / name
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
        tmp = path.with_name(path.name + ".shuyaku-new")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        tmp.replace(path)
    write(target, {}, about, hashes=up.hashes)
