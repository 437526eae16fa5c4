"""The My Number readiness checklist (マイナンバー利用事務系 適合チェック), stated once, in both languages.

Each item is something an auditor can verify in the inventory alone. The score counts pass as 1, warn as
0.5 and fail as 0 over the items that apply to the system; a system is "ready" when nothing fails.
"""

from __future__ import annotations

from shuyaku.contracts.assessment import CheckDef

# RTO at or under this many hours cannot be met by rebuilding from backup after a server fails.
REDUNDANCY_RTO_HOURS = 24.0

CHECKLIST: tuple[CheckDef, ...] = (
    CheckDef(
        id="layer",
        label_ja="系の配置",
        label_en="Layer placement",
        rule_ja="標準化20業務（個人番号利用事務）のシステムはマイナンバー利用事務系に置かれている",
        rule_en="systems of the 20 standard operations (My Number work) sit in the My Number layer",
    ),
    CheckDef(
        id="os",
        label_ja="OSサポート",
        label_en="OS supported",
        rule_ja="全サーバのOSがサポート期間内（2年以内に終了するものは注意）",
        rule_en="every server's OS is within vendor support (warn when support ends within 2 years)",
    ),
    CheckDef(
        id="redundancy",
        label_ja="冗長化",
        label_en="Redundancy",
        rule_ja="RTOが24時間以内なら全ての役割のサーバが冗長化されている（一部のみは注意、なしは不適合）",
        rule_en="with an RTO of 24 h or less, every server role is redundant (some roles: warn; none: fail)",
    ),
    CheckDef(
        id="links",
        label_ja="系間連携",
        label_en="Cross-layer links",
        rule_ja="禁止された連携（マイナンバー系⇔インターネット系）がない。データ連携基盤・無害化中継・画面転送へ"
        "切り替えが必要な直接連携は注意",
        rule_en="no forbidden link (My Number ⇔ internet); direct links that must move to the hub, the sanitising "
        "relay or screen transfer are a warning",
    ),
    CheckDef(
        id="rpo_rto",
        label_ja="RPO/RTOの設定",
        label_en="RPO/RTO declared",
        rule_ja="RPOとRTOが0より大きい値で設定されている（0は同期複製・無停止が前提のため、仮置きでないか確認）",
        rule_en="RPO and RTO are set above 0 (0 needs synchronous replication and no downtime: confirm it is not a placeholder)",
    ),
)

CHECK_IDS = tuple(c.id for c in CHECKLIST)
