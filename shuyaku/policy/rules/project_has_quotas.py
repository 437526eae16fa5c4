"""Tenancy: every project has compute, network and volume quotas set by the platform."""

from __future__ import annotations

from shuyaku.policy.context import T_PROJECT, T_QUOTA_COMPUTE, T_QUOTA_NETWORK, T_QUOTA_VOLUME, Index
from shuyaku.policy.model import Rule, msg, plain

_KINDS = ((T_QUOTA_COMPUTE, "compute"), (T_QUOTA_NETWORK, "network"), (T_QUOTA_VOLUME, "volume"))


def check_stack(resources, settings):
    index = Index.ensure(resources)
    covered: dict[str, set[str]] = {}
    for qtype, kind in _KINDS:
        for q in index.of_type(qtype):
            proj = index.ref(q, "projectId", (T_PROJECT,))
            if proj is not None:
                covered.setdefault(proj.urn, set()).add(kind)
    for p in index.of_type(T_PROJECT):
        if plain(p.props.get("isDomain")) is True:
            continue
        missing = [kind for _t, kind in _KINDS if kind not in covered.get(p.urn, set())]
        if missing:
            yield RULE.violation(p.urn, f"プロジェクトにクォータがありません: {', '.join(missing)}",
                                 f"the project has no quota for: {', '.join(missing)}")


RULE = Rule(
    id="project-has-quotas",
    title=msg("プロジェクトには計算・ネットワーク・ボリュームのクォータを設定する",
              "Projects have compute, network and volume quotas"),
    description=msg(
        "各プロジェクトに QuotaSetV2（計算）、QuotaV2（ネットワーク）、QuoteSetV3（ボリューム）を設定し、"
        "1 システムが共有基盤の資源を使い切らないようにする。",
        "Every project has a compute QuotaSetV2, a networking QuotaV2 and a block-storage QuoteSetV3, so "
        "one system cannot exhaust the shared platform."),
    severity="medium",
    enforcement="mandatory",
    sources=("shuyaku テナント規約", "shuyaku tenancy convention"),
    remediation=msg("インベントリのクォータからプラットフォームが 3 種のクォータを作るようにする。",
                    "Let the platform create all three quotas from the inventory's quota figures."),
    resource_types=(T_PROJECT, T_QUOTA_COMPUTE, T_QUOTA_NETWORK, T_QUOTA_VOLUME),
    check_stack=check_stack,
    tags=("tenancy",),
)
