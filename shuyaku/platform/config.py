"""The platform program's configuration: read once at the entry point, checked completely, passed down typed.

A façade: the stack config's contract is `shuyaku.contracts.stack_config`; reading and checking are in
`loading` (both files), `site_checks` (what the site-data schema cannot see), `layout` (addresses and rules),
`quotas` (sizing) and `staleness` (site data against the inventory); the typed result is `settings`.
"""

from __future__ import annotations

from shuyaku.contracts.stack_config import NAMESPACE, StackConfig
from shuyaku.platform.layout import Layout, Rule, ServiceLayout
from shuyaku.platform.loading import from_site, load
from shuyaku.platform.quotas import DEFAULT_SG_RULES
from shuyaku.platform.settings import ConfigError, PlatformConfig

__all__ = [
    "DEFAULT_SG_RULES",
    "NAMESPACE",
    "ConfigError",
    "Layout",
    "PlatformConfig",
    "Rule",
    "ServiceLayout",
    "StackConfig",
    "from_site",
    "load",
]
