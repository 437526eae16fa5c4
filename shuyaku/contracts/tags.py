"""The tag vocabulary shared by the platform program, the policy pack and audits.

Every Keystone project, network, subnet, router and security group the platform creates carries
these tags, so a policy (or an auditor reading `pulumi stack export`) can tell which system, layer,
department and vendor a resource belongs to without reaching back into the inventory.
Keystone tags may not contain "/" or ","; Neutron tags are limited to 255 characters.
"""

from __future__ import annotations

PREFIX = "shuyaku"
KEYS = ("system", "layer", "department", "vendor", "stdop", "dr", "site", "role")
REQUIRED_PROJECT_KEYS = ("system", "layer", "department", "vendor")


def tag(key: str, value: str) -> str:
    """`tag("layer", "mynumber")` -> "shuyaku:layer=mynumber"."""
    if key not in KEYS:
        raise ValueError(f"unknown tag key {key!r}; known: {', '.join(KEYS)}")
    clean = str(value).replace("/", "-").replace(",", " ")
    return f"{PREFIX}:{key}={clean}"


def parse(tags: list[str] | None) -> dict[str, str]:
    """Inverse of `tag` over a resource's tag list; foreign tags are ignored."""
    out: dict[str, str] = {}
    for t in tags or []:
        if not isinstance(t, str) or not t.startswith(PREFIX + ":") or "=" not in t:
            continue
        key, value = t[len(PREFIX) + 1 :].split("=", 1)
        out[key] = value
    return out
