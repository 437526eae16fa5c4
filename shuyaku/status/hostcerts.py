"""The VDI hosts' TLS certificates, read from the hosts over the path `shuyaku verify` uses.

The vdi_host role installs xrdp's certificate at `vdi_host_tls_cert_path` (default /etc/xrdp/tls/cert.pem) on the
`vdi_hosts` group; the vdi_web role installs the browser gateway's at `vdi_web_tls_cert_path` (default
/etc/shuyaku-novnc/tls/cert.pem) on `vdi_web`. Each is read from its host through testinfra's Ansible backend over
the same Ansible inventory `verify` takes (the one `provision --stack` writes into its artefacts folder, or a hosts
file), with sudo since the certificate directory is readable by the service only. A host that cannot be reached or
whose certificate is missing is listed as unreadable (needs attention), never skipped.
"""

from __future__ import annotations

import concurrent.futures as cf
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shuyaku.contracts.status import Expiry
from shuyaku.status.operations import expiry

# group -> (the role's variable for the installed certificate, the role's default for it)
CERTS = {
    "vdi_hosts": ("vdi_host_tls_cert_path", "/etc/xrdp/tls/cert.pem"),
    "vdi_web": ("vdi_web_tls_cert_path", "/etc/shuyaku-novnc/tls/cert.pem"),
}


@dataclass(frozen=True)
class Target:
    host: str
    path: str


def targets(inventory: Path) -> list[Target]:
    """Each VDI host and the certificate path its role installed, as Ansible itself reads the inventory."""
    from shuyaku.provision.inventory import describe

    inv = describe(inventory)
    out: set[Target] = set()
    for group, (var, default) in CERTS.items():
        for host in inv.groups.get(group, []):
            out.add(Target(host, str(inv.hostvars.get(host, {}).get(var) or default)))
    return sorted(out, key=lambda t: (t.host, t.path))


def _read(target: Target, inventory: Path) -> bytes:
    import testinfra

    host = testinfra.get_host(f"ansible://{target.host}?sudo=true", ansible_inventory=str(inventory))
    f = host.file(target.path)
    if not f.exists:
        raise FileNotFoundError(f"{target.path}: no such file on {target.host}")
    return f.content


def _one(target: Target, inventory: Path, now: datetime, warn_days: int) -> Expiry:
    from cryptography import x509

    owner = f"{target.host}:{target.path}"
    try:
        cert = x509.load_pem_x509_certificate(_read(target, inventory))
    except Exception as e:  # unreachable host, missing file, not a certificate: all "cannot tell", so attention
        reason = str(e).strip().splitlines()[-1:] or [type(e).__name__]
        return Expiry(kind="certificate", name=target.host, owner=owner, expires=None, days_left=None, soon=True,
                      error=f"{type(e).__name__}: {reason[0][:200]}")
    return expiry("certificate", cert.subject.rfc4514_string() or target.host, owner, cert.not_valid_after_utc, now,
                  warn_days)


def from_hosts(inventory: Path, now: datetime, warn_days: int) -> list[Expiry]:
    """Every VDI host's certificate expiry, read in parallel (each read is an SSH round trip)."""
    import os

    from shuyaku.provision.inventory import venv_env

    found = targets(inventory)
    if not found:
        return []
    # testinfra runs ansible-inventory and ssh itself, from this process's environment: give it the PATH and the
    # ansible.cfg `verify` runs with (the timer's PATH need not hold the virtualenv's tools).
    env = venv_env()
    os.environ["PATH"] = env["PATH"]
    os.environ.setdefault("ANSIBLE_CONFIG", env["ANSIBLE_CONFIG"])
    with cf.ThreadPoolExecutor(min(8, len(found))) as pool:
        return list(pool.map(lambda t: _one(t, inventory, now, warn_days), found))
