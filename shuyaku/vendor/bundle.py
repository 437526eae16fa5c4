"""The bundle `shuyaku vendor grant` hands a vendor: everything it needs, nothing of anyone else's.

    DIR/                 0700, every file 0600
      clouds.yaml        the application credential (its project, role member, an expiry)
      passphrase         the vendor's own Pulumi passphrase (its stacks and its hand-off; never the platform's)
      state-db.pgpass    the vendor's database login (PostgreSQL backend only), with ca.crt to check the server
      env.sh             `source env.sh`: OS_CLOUD, PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE_FILE
      bundle.json        what the bundle is for (tenant, hand-off, backend, expiry); no secret
      README.md          how to use it, in Japanese with English
      project/           the vendor's Pulumi project (`vendor init`), with its manifest
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shuyaku.contracts.problems import Text, tx
from shuyaku.vendor import escape

INFO = "bundle.json"
PROJECT_DIR = "project"
PASSPHRASE = "passphrase"
PGPASS = "state-db.pgpass"
CA = "ca.crt"
HERE = "@BUNDLE@"  # stands for the bundle's directory in the backend URL written to env.sh


class BundleError(Exception):
    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text

    def __str__(self) -> str:
        return str(self.text)


def private_dir(path: Path) -> Path:
    """Create `path` 0700, refusing one that exists and is not empty (a bundle is never merged into old files)."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BundleError(tx(f"{path} は空ではありません。新しいディレクトリを --out で指定してください",
                             f"{path} is not empty; name a new directory with --out"))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    path.chmod(0o600)
    return path


def ensure_passphrase(path: Path) -> Path:
    """The vendor's passphrase as the operator keeps it (to publish hand-offs the vendor can open): made once."""
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        write_private(path, secrets.token_urlsafe(32) + "\n")
    return path


def lock_down(root: Path) -> None:
    """Directories 0700 and files 0600 throughout (the project's files included: they are the vendor's)."""
    for dirpath, _dirnames, filenames in os.walk(root):
        Path(dirpath).chmod(0o700)
        for name in filenames:
            p = Path(dirpath) / name
            if not p.is_symlink():
                p.chmod(0o600)


@dataclass(frozen=True)
class Contents:
    tenant: dict[str, Any]  # the published hand-off
    handoff_stack: str
    cloud: str
    clouds: dict[str, Any]  # clouds.yaml with the application credential
    backend_url: str  # absolute paths, as written into bundle.json
    env_backend_url: str  # with HERE where the bundle's directory goes
    passphrase: Path
    pgpass: Path | None
    ca: Path | None
    credential_id: str
    expires_at: str
    vendor: str

    def info(self) -> dict[str, Any]:
        return {"tenant": self.tenant["system_id"], "site": self.tenant["site"], "project": self.tenant["project_name"],
                "handoff_stack": self.handoff_stack, "cloud": self.cloud, "backend_url": self.backend_url,
                "vendor": self.vendor, "application_credential_id": self.credential_id, "expires_at": self.expires_at}


def write(out: Path, c: Contents) -> list[Path]:
    """Every file of the bundle but the project (the caller runs `vendor init` into `out/project`)."""
    written = [write_private(out / "clouds.yaml", yaml.safe_dump(c.clouds, sort_keys=False)),
               write_private(out / PASSPHRASE, c.passphrase.read_text(encoding="utf-8"))]
    if c.pgpass is not None:
        written.append(write_private(out / PGPASS, c.pgpass.read_text(encoding="utf-8")))
    if c.ca is not None:
        shutil.copyfile(c.ca, out / CA)
        written.append(out / CA)
    written.append(write_private(out / "env.sh", env_sh(c)))
    written.append(write_private(out / INFO, json.dumps(c.info(), ensure_ascii=False, indent=2) + "\n"))
    written.append(write_private(out / "README.md", readme(c)))
    return written


def env_sh(c: Contents) -> str:
    q = escape.sh
    url = '"$here"'.join(q(part) for part in c.env_backend_url.split(HERE))
    lines = [
        "# source this file: the vendor's own cloud login, state backend and passphrase (shuyaku vendor grant)",
        'here="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"',
        'export OS_CLIENT_CONFIG_FILE="$here/clouds.yaml"',
        f"export OS_CLOUD={q(c.cloud)}",
        f"export PULUMI_BACKEND_URL={url}",
        f'export PULUMI_CONFIG_PASSPHRASE_FILE="$here/{PASSPHRASE}"',
        "unset PULUMI_CONFIG_PASSPHRASE PGPASSWORD",
    ]
    if c.pgpass is not None:
        lines.append("export PULUMI_DIY_BACKEND_ZSTD=true")
    return "\n".join(lines) + "\n"


def load_info(directory: Path) -> dict[str, Any]:
    path = directory / INFO
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(tx(f"{path} を読めません（shuyaku vendor grant のバンドルを指定してください）: {exc}",
                             f"cannot read {path} (name a bundle made by shuyaku vendor grant): {exc}")) from None
    if not isinstance(info, dict) or not isinstance(info.get("tenant"), str):
        raise BundleError(tx(f"{path}: tenant がありません", f"{path}: no tenant"))
    return info


def readme(c: Contents) -> str:
    t, md, code = c.tenant, escape.md, escape.code
    db = c.pgpass is not None
    where_ja = "状態データベース上のあなた専用のテーブル" if db else "あなた専用の状態フォルダ"
    where_en = "your own table in the state database" if db else "your own state folder"
    db_row_ja = ("| `state-db.pgpass`, `ca.crt` | 状態データベースへのあなた専用ログインと、サーバー証明書を確かめる CA |\n"
                 if db else "")
    db_en = ("`state-db.pgpass` and `ca.crt` are your own login to the state database and the CA that checks it; "
             if db else "")
    return f"""# {md(t['name'])}（{md(t['system_id'])}）— ベンダー用バンドル / vendor bundle

情報政策課が `shuyaku vendor grant` で作成した、テナント {code(t['system_id'])}（プロジェクト {code(t['project_name'])}）
専用の一式です。このディレクトリは他人に渡さず、権限 0700 のまま保管してください。

| ファイル | 内容 |
|---|---|
| `clouds.yaml` | OpenStack のアプリケーション認証情報（{code(t['project_name'])} の `member` のみ、期限 {code(c.expires_at)}） |
| `passphrase` | あなた専用の Pulumi パスフレーズ（あなたのスタックと引き渡しスタックの秘密情報を暗号化） |
{db_row_ja}| `env.sh` | `source env.sh` で OS_CLOUD・PULUMI_BACKEND_URL・PULUMI_CONFIG_PASSPHRASE_FILE を設定 |
| `project/` | あなたの Pulumi プロジェクト（README.md にデプロイ手順） |

```sh
source env.sh
cd project
python3 -m venv venv && venv/bin/pip install -r requirements.txt
pulumi stack init {escape.sh(t['site'])}
pulumi preview
pulumi up
```

- 状態（Pulumi の state）は{where_ja}に保存されます。基盤や他のベンダーの状態は読めません。
- 基盤の出力は引き渡しスタック {code(c.handoff_stack)}（このテナントの秘密でない出力だけ）から読みます。
- 認証情報の期限が切れたら、または漏えいの疑いがあれば、情報政策課に連絡してください（`shuyaku vendor revoke` で
  直ちに無効化、`shuyaku vendor grant` で再発行）。
- 基盤の出力が変わると、情報政策課が `shuyaku vendor update` でプロジェクトを更新します。あなたが変更したファイルは
  残し、新しい版でも変わるファイルがあれば上書きせずにファイル名を示して止まります。

---

English: the bundle the platform team made with `shuyaku vendor grant` for tenant {code(t['system_id'])} (project
{code(t['project_name'])}). Keep this directory private (mode 0700). `clouds.yaml` holds an application credential
for your project only, role `member`, expiring {code(c.expires_at)}; `passphrase` is your own Pulumi passphrase;
{db_en}`source env.sh` sets OS_CLOUD, PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE_FILE.
Your state lives in {where_en}; you cannot read the platform's state or another vendor's.
Your project reads the hand-off stack {code(c.handoff_stack)} (this
tenant's non-secret outputs only). Deploy with the commands above. Ask the platform team when the credential
expires or may have leaked (`shuyaku vendor revoke` disables it at once; `grant` issues a new one). When the
platform's outputs change, `shuyaku vendor update` refreshes the project, keeping the files you changed, or stops
and names them when the new version changes them too.
"""
