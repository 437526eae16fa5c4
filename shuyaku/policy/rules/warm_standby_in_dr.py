"""Continuity: every warm-standby system has its standby tenant in the dr stack."""

from __future__ import annotations

from shuyaku.policy.context import T_PROJECT, Index, tags_of
from shuyaku.policy.model import Rule, msg


def _is_dr(index: Index, settings) -> bool:
    site = settings.get("site") or ""
    if site:
        return site == "dr"
    return any(tags_of(p).get("site") == "dr" for p in index.of_type(T_PROJECT))


def check_stack(resources, settings):
    index = Index.ensure(resources)
    warm = settings.get("warm_systems") or []
    if not warm or not _is_dr(index, settings):
        return
    present = set()
    for p in index.of_type(T_PROJECT):
        t = tags_of(p)
        if t.get("site") == "dr" and t.get("system"):
            present.add(t["system"])
    for system in warm:
        if system not in present:
            yield RULE.violation(
                index.stack_urn,
                f"ウォームスタンバイのシステム {system} の待機テナント（shuyaku:site=dr のプロジェクト）が"
                "DR スタックにありません。",
                f"warm-standby system {system} has no standby tenant (a project tagged shuyaku:site=dr) in "
                "the dr stack.")


RULE = Rule(
    id="warm-standby-in-dr",
    title=msg("ウォームスタンバイのシステムは DR サイトに待機環境を持つ",
              "Warm-standby systems have their standby in the dr stack"),
    description=msg(
        "warm_systems に載ったシステムごとに、DR スタックに shuyaku:system=<id> と shuyaku:site=dr の"
        "タグを持つプロジェクトがなければならない。DR スタックかどうかは site 設定、空ならタグで判断する。",
        "For each system in warm_systems the dr stack holds a project tagged shuyaku:system=<id> and "
        "shuyaku:site=dr. Whether this is the dr stack comes from the site setting, or from the tags."),
    severity="high",
    enforcement="mandatory",
    sources=("総務省 地方公共団体における ICT 部門の業務継続計画（BCP）", "MIC ICT-BCP guideline for local governments"),
    remediation=msg("DR スタックを再計画・再デプロイして待機テナントを作る（shuyaku plan → pulumi up -s dr）。",
                    "Re-plan and deploy the dr stack so it creates the standby tenant "
                    "(shuyaku plan, then pulumi up -s dr)."),
    resource_types=(T_PROJECT,),
    config_keys=("warm_systems", "site"),
    check_stack=check_stack,
    tags=("continuity",),
)
