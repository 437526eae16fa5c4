"""The vendor's OpenStack login: a Keystone application credential on its own project, role `member`, with an
expiry.

Keystone lets only a user create its own application credentials, so each tenant gets a user of its own
(`shuyaku-vendor-<project>`) in the tenant's vendor group, which holds `member` on the tenant's project only.
The operator sets a random password, uses it once for a project-scoped token that creates the credential, then
replaces it with another random one that nobody keeps: what remains usable is the credential alone, which
survives a password change, cannot create further credentials or trusts (not `unrestricted`), and lapses at
its expiry. Revoking deletes the credentials and the user.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from shuyaku.contracts.problems import Text, tx

ROLE = "member"


class KeystoneError(Exception):
    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text

    def __str__(self) -> str:
        return str(self.text)


@dataclass(frozen=True)
class Credential:
    id: str
    secret: str
    user: str
    expires_at: str
    auth_url: str
    region: str | None
    interface: str

    def clouds_yaml(self, cloud: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "auth_type": "v3applicationcredential",
            "auth": {"auth_url": self.auth_url, "application_credential_id": self.id,
                     "application_credential_secret": self.secret},
            "identity_api_version": 3, "interface": self.interface}
        if self.region:
            entry["region_name"] = self.region
        return {"clouds": {cloud: entry}}


def user_name(project_name: str) -> str:
    return f"shuyaku-vendor-{project_name}"


def grant(admin: Any, tenant: dict[str, Any], days: int) -> Credential:
    """Create (or renew) the tenant's vendor user and a fresh application credential for it."""
    import openstack

    project = admin.identity.get_project(tenant["project_id"])
    group = admin.identity.find_group(tenant["vendor_group"], domain_id=project.domain_id)
    if group is None:
        raise KeystoneError(tx(f"ベンダーグループ {tenant['vendor_group']} がありません（基盤スタックを更新してください）",
                               f"no vendor group {tenant['vendor_group']} (update the platform stack)"))
    name = user_name(tenant["project_name"])
    once = secrets.token_urlsafe(32)
    user = admin.identity.find_user(name, domain_id=project.domain_id)
    if user is None:
        user = admin.identity.create_user(name=name, password=once, domain_id=project.domain_id, enabled=True,
                                          description=f"shuyaku vendor grant: {tenant['system_id']}")
    else:
        admin.identity.update_user(user, password=once, enabled=True)
    admin.identity.add_user_to_group(user, group)
    cfg = admin.config
    auth_url, region = str(cfg.auth["auth_url"]), cfg.get_region_name()
    conn = openstack.connect(auth_url=auth_url, username=name, password=once, user_domain_id=project.domain_id,
                             project_id=project.id, region_name=region, identity_api_version="3", load_envvars=False)
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).replace(microsecond=0)
    cred_secret = secrets.token_urlsafe(48)
    try:
        made = conn.identity.post(f"/users/{user.id}/application_credentials", json={"application_credential": {
            "name": f"shuyaku-{tenant['project_name']}-{expires:%Y%m%d%H%M%S}", "secret": cred_secret,
            "roles": [{"name": ROLE}], "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S"), "unrestricted": False,
            "description": f"shuyaku vendor grant: {tenant['system_id']}, member on {tenant['project_name']} only"}})
        made.raise_for_status()
    finally:
        conn.close()
        # The password served once; nobody keeps the new one.
        admin.identity.update_user(user, password=secrets.token_urlsafe(32))
    body = made.json()["application_credential"]
    return Credential(id=body["id"], secret=cred_secret, user=name, expires_at=body.get("expires_at") or "",
                      auth_url=auth_url, region=region, interface=cfg.get_interface() or "public")


def revoke(admin: Any, project_name: str, domain_id: str | None = None) -> int:
    """Delete the tenant's vendor user's application credentials and the user; returns how many credentials."""
    name = user_name(project_name)
    user = admin.identity.find_user(name, domain_id=domain_id) if domain_id else admin.identity.find_user(name)
    if user is None:
        return 0
    listed = admin.identity.get(f"/users/{user.id}/application_credentials")
    creds = listed.json().get("application_credentials", []) if listed.ok else []
    for cred in creds:
        admin.identity.delete(f"/users/{user.id}/application_credentials/{cred['id']}")
    # Keystone deletes a user's application credentials with the user, whether or not the calls above were
    # allowed; what a vendor could still use is checked by the caller (a login with the credential).
    admin.identity.delete_user(user)
    return len(creds)
