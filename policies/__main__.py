"""The shuyaku policy pack: every rule in shuyaku/policy/rules as a CrossGuard policy.

Enforcement levels and the city's settings come from the policy-pack config file of the stack
(`--policy-pack-config policies/config.<stack>.json`); `shuyaku policy config` writes one.
"""

import sys
from pathlib import Path

# The pack runs with cwd = this directory; make the repository's shuyaku importable even when the
# venv lacks the editable install.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from shuyaku.policy.crossguard import hook_engine_calls, policies

hook_engine_calls()

PolicyPack(
    name="shuyaku",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=policies(),
    description="三層の対策・テナント・秘密情報・Checkov/Trivy 互換のルール / "
    "three-layer separation, tenancy, secrets and Checkov/Trivy parity",
    provider="openstack",
)
