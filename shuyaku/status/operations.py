"""Operations: the last patch run, certificate and credential expiry.

- Patch runs: `shuyaku patch` keeps each run's per-host JSON under `<artefacts>/patch-reports-<UTC stamp>/`; each
  host's last patch is its report in the newest folder that has one (host groups are patched in runs of their own).
- Certificates: the VDI hosts' own, read from the hosts over verify's Ansible path (hostcerts.py); PEM files the
  operator names (`--cert`) replace that reading (e.g. where the monitor may not log in to hosts). The status reads
  their `notAfter`.
- Vendor application credentials: from the live snapshot (the same listing the audit reads), with their expiry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shuyaku.audit.snapshot import Snapshot
from shuyaku.contracts.status import Expiry, Operations, PatchHost


def _patch_host(f: Path, run: str) -> PatchHost:
    try:
        r = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return PatchHost(host=f.stem, run=run, packages=0, rebooted=False, reboot_required=False,
                         health="unreadable report")
    return PatchHost(host=str(r.get("host") or f.stem), run=run, packages=len(r.get("changes") or []),
                     rebooted=bool(r.get("rebooted")), reboot_required=bool(r.get("reboot_required")),
                     health=str(r.get("health")))


def last_patch_run(artefacts: Path | None) -> tuple[str | None, list[PatchHost]]:
    """(the newest run, each host's own last patch): a city patches its host groups in separate runs (`--limit`),
    so the newest folder alone would drop the groups patched earlier."""
    if artefacts is None or not artefacts.is_dir():
        return None, []
    runs = sorted(p for p in artefacts.glob("patch-reports-*") if p.is_dir() and any(p.glob("*.json")))
    if not runs:
        return None, []
    last: dict[str, PatchHost] = {}
    for run in runs:  # oldest first: a later run's report replaces a host's earlier one
        for f in sorted(run.glob("*.json")):
            host = _patch_host(f, run.name)
            last[host.host] = host
    return runs[-1].name, sorted(last.values(), key=lambda h: h.host)


def expiry(kind: str, name: str, owner: str, when: datetime | None, now: datetime, warn_days: int) -> Expiry:
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    days = None if when is None else round((when - now).total_seconds() / 86400, 1)
    return Expiry(kind=kind, name=name, owner=owner, expires=when, days_left=days,  # type: ignore[arg-type]
                  soon=days is not None and days <= warn_days)


def certificates(paths: Iterable[Path], now: datetime, warn_days: int) -> list[Expiry]:
    """Each PEM certificate's expiry; raises ValueError naming the file when one is not a certificate."""
    from cryptography import x509

    out = []
    for path in paths:
        data = path.read_bytes()
        try:
            cert = x509.load_pem_x509_certificate(data)
        except ValueError as e:
            raise ValueError(f"{path}: not a PEM certificate ({e})") from None
        subject = cert.subject.rfc4514_string() or path.name
        out.append(expiry("certificate", subject, str(path), cert.not_valid_after_utc, now, warn_days))
    return out


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def app_credentials(snap: Snapshot, now: datetime, warn_days: int) -> list[Expiry]:
    out = []
    for uid, creds in sorted(snap.app_credentials.items()):
        user = snap.users.get(uid, uid)
        for c in creds or []:
            out.append(expiry("app_credential", str(getattr(c, "name", "") or getattr(c, "id", "")), user,
                               _when(getattr(c, "expires_at", None)), now, warn_days))
    return out


def operations(snap: Snapshot | None, artefacts: Path | None, certs: list[Path], now: datetime,
               warn_days: int, hosts: Path | None = None) -> Operations:
    """`certs` (PEM files) when given, else the VDI hosts' certificates read over the `hosts` Ansible inventory."""
    from shuyaku.status import hostcerts

    run, patched = last_patch_run(artefacts)
    expiries = certificates(certs, now, warn_days) if certs or hosts is None else hostcerts.from_hosts(hosts, now,
                                                                                                     warn_days)
    if snap is not None:
        expiries += app_credentials(snap, now, warn_days)
    return Operations(patch_run=run, patch_hosts=patched, expiries=expiries, warn_days=warn_days)
