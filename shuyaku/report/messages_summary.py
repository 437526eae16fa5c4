"""Labels of the one-page summary, the appendix and the footer (merged into shuyaku.report.messages)."""

from __future__ import annotations

SUMMARY_MESSAGES: dict[str, tuple[str, str]] = {
    "s_title": ("1ページ要約", "One-page summary"),
    "s_gap_short": ("目標まで あと年間 {v} の削減が必要です。", "Another {v} a year must be cut to reach the goal."),
    "s_gap_met": ("目標を年間 {v} 上回って削減します。", "The plan beats the goal by {v} a year."),
    "s_sens": ("感度: 悲観 {p} ／ 想定 {e} ／ 楽観 {o}。{verdict}",
               "Sensitivity: pessimistic {p} / expected {e} / optimistic {o}. {verdict}"),
    "s_sens_all": ("どのケースでも目標を達成します。", "The goal is met in every case."),
    "s_sens_none": ("どのケースでも目標に届きません。", "The goal is not met in any case."),
    "s_sens_some": ("{met}ケースでは達成、{missed}ケースでは未達です。", "Met in the {met} case, not in the {missed} case."),
    "case_pessimistic": ("悲観", "pessimistic"),
    "case_expected": ("想定", "expected"),
    "case_optimistic": ("楽観", "optimistic"),
    "s_levers": ("費用の大きい3項目（見直しの余地）", "The three biggest lines (where to act)"),
    "s_items": ("費目別の現行と集約後（年額）", "Before and after, by cost item (per year)"),
    "s_item": ("費目", "Item"),
    "s_change": ("増減", "Change"),
    "s_risks": ("主なリスク", "Top risks"),
    "s_risk_past": ("{n} システムは計画開始の時点で既にサポート終了・更新期限を過ぎています（最も古い: {what}、{when}）。"
                    "最優先で第{first}〜{last}波に移行します",
                    "{n} system(s) are already past their end of support or hardware life when the plan starts "
                    "(oldest: {what}, {when}): they go first, in waves {first} to {last}"),
    "s_risk_late": ("{n} システムは、まだ先の期限より後のウェーブで移行する計画です"
                    "（{waves} ウェーブ、最初は第{first}波の {sid}）。ウェーブを増やすか前倒しが必要です",
                    "{n} system(s) move in a wave after a deadline that is still ahead ({waves} wave(s), first: "
                    "wave {first}, {sid}): more or earlier waves are needed"),
    "s_risk_forbidden": ("禁止された系間連携 {n} 件（例: {first}）は移行前に廃止・設計変更が必要です",
                         "{n} forbidden cross-layer link(s) (e.g. {first}) must be removed or redesigned first"),
    "s_risk_dr": ("{n} システムは、どの復旧方式でも RPO・RTO を満たせません（不足分は災害対策の表）",
                  "{n} system(s) have an RPO/RTO no tier meets (the shortfall is in the DR table)"),
    "s_risk_split": ("{total} システム中 {n} システムは保守の内訳（ハードウェア／アプリ）が台帳になく、"
                     "カタログの既定の割合を使いました",
                     "{n} of {total} systems give no hardware/application split of maintenance: the catalogue's "
                     "default share was used"),
    "s_risk_none": ("大きなリスクは見つかりませんでした", "No major risk found"),
    "s_machida": ("参考: 町田市は約47%（2009年度予算比、2013年度）", "For reference: Machida reached about 47% (FY2013 vs 2009)"),
    "w_quarter": ("{fy}年度 第{q}四半期", "FY{fy} Q{q}"),
    "w_when": ("実施時期", "When"),
    "w_deadline": ("最も早い期限", "Earliest deadline"),
    "w_beats": ("間に合う", "in time"),
    "w_late": ("期限後", "late"),
    "w_past": ("期限切れ・先行移行", "already past: first"),
    "w_lead": ("1四半期に1ウェーブ、基盤の調達・構築に2四半期を見込みます。", "One wave a quarter, after two quarters to "
               "procure and build the platform."),
    "p_vdi_hosts": ("VDIホスト", "VDI hosts"),
    "p_zones_vdi": ("画面転送（VDI）用のホスト {n} 台は端末数から見積もり、各ゾーンのホスト群に加わります（合計 {total} 台）。"
                    "費用はシンクライアントの項に計上します。",
                    "The {n} screen-transfer (VDI) hosts are sized from the terminals and join their zones' host "
                    "groups ({total} hosts in all); they are priced on the thin-client line."),
    "p_thin_vdi_hosts": ("VDIホスト（基盤と同じ台数）", "VDI hosts (the platform's)"),
    "p_thin_scope": ("対象は画面転送でセッションを使う端末（LGWAN系端末、β・β'モデルではインターネット系端末も）で、"
                     "VDIホストは基盤に構築する台数と同じです。",
                     "It covers the terminals whose sessions run by screen transfer (LGWAN terminals; under β and β' "
                     "the internet-layer terminals too), on the same VDI hosts the platform builds."),
    "a_findings": ("要点", "Key findings"),
    "a_f_os": ("OSサポート終了のサーバ {n} 台（{systems} システム）。最も古いもの: {sid} {os}（{when} 終了）",
               "{n} servers ({systems} systems) run an unsupported OS; the oldest: {sid} {os} (ended {when})"),
    "a_f_hw": ("更新年数（{years}年）を超えたハードウェア {n} 台（{systems} システム）",
               "{n} servers ({systems} systems) are past the {years}-year hardware life"),
    "a_f_forbidden": ("禁止された系間連携 {n} 件（例: {first}）。集約前に廃止・設計変更が必要です",
                      "{n} forbidden cross-layer link(s) (e.g. {first}): remove or redesign them before consolidating"),
    "a_f_ready": ("マイナンバー適合チェックで {n} システムに不適合項目があります（平均スコア {v}）",
                  "{n} system(s) fail a My Number readiness check (mean score {v})"),
    "a_f_cost": ("現行の年間費用 {v}（うち標準化20業務 {std} はガバメントクラウドへ移行）",
                 "Today's annual cost is {v} ({std} of it for the 20 standard operations moving to the Government Cloud)"),
    "a_f_none": ("対応が急がれる問題は見つかりませんでした", "Nothing needs urgent action"),
    "a_appendix_lead": ("詳細な表（サーバ別の老朽化、連携の一覧、システム別の適合判定、所管課別の費用）です。",
                        "Detailed tables: ageing per server, every cross-layer link, readiness per system, cost per "
                        "department."),
    "appendix": ("付録", "Appendix"),
    "appendix_lead": ("詳細な表（ホスト別の配置、システム別の復旧方式、連携の一覧）です。",
                      "Detailed tables: placement per zone, DR tier per system, every data link."),
    "assumption": ("前提", "Assumption"),
    "dr_short": ("不足", "Short by"),
    "footer_time": ("作成日時", "Generated"),
    "footer_hash": ("台帳の SHA-256", "Inventory SHA-256"),
    "tier_replica": ("レプリケーション", "replication"),
    "p_thin_none": ("台帳に端末がないため、シンクライアントの費用比較はできません。",
                    "The inventory lists no terminals, so thin clients cannot be costed."),
    "p_dr_repl": ("レプリケーション {tb} TB（必要帯域 {mbps} Mbps、回線 {lines} 本）、DRラック {racks} 本。",
                  "Replication {tb} TB (needs {mbps} Mbps, {lines} line(s)), {racks} DR rack(s)."),
}
