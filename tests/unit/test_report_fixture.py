"""A Plan built by hand from an inventory, valid per shuyaku/plan/model.py, for testing the plan report
independently of the planner (crude first-fit placement and a simple cost model: the report must show
whatever a valid plan says, so the figures need only be self-consistent, not optimal).
"""

from __future__ import annotations

import math
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

from shuyaku.contracts.catalogue import Catalogue
from shuyaku.contracts.inventory import Inventory, System
from shuyaku.contracts.plan import (
    CostCase,
    CostLine,
    CostYear,
    DrSitePlan,
    DrTier,
    HostLoad,
    LinkPlan,
    Plan,
    Resources,
    Sensitivity,
    Sizing,
    ThinClientCase,
    Wave,
    ZonePlan,
)
from shuyaku.inventory.links import classify_link

YEARS = 7
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample-city" / "inventory.yaml"


class Element:
    def __init__(self, tag: str, attrs: dict[str, str]):
        self.tag, self.attrs, self.parts, self.children = tag, attrs, [], []

    @property
    def text(self) -> str:
        return " ".join("".join(p if isinstance(p, str) else p.text for p in self.parts).split())

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        out = []
        for c in self.children:
            if (tag is None or c.tag == tag) and all(c.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                out.append(c)
            out += c.find_all(tag, **attrs)
        return out

    def by_attr(self, name: str) -> dict[str, Element]:
        """Elements carrying the attribute `name`, keyed by its value (the report marks figures with data-*)."""
        return {e.attrs[name]: e for e in self.walk() if name in e.attrs}

    def walk(self) -> list[Element]:
        out = []
        for c in self.children:
            out.append(c)
            out += c.walk()
        return out


class _Parser(HTMLParser):
    # HTML void elements; SVG shapes close themselves with "/>" (handle_startendtag) or hold a <title>.
    VOID = frozenset({"br", "meta", "img", "input", "hr", "link"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(el)
        self.stack[-1].parts.append(el)
        if tag not in self.VOID:
            self.stack.append(el)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(el)
        self.stack[-1].parts.append(el)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].parts.append(" " if data.isspace() else data)


def parse_html(html: str) -> Element:
    p = _Parser()
    p.feed(html)
    p.close()
    return p.root


def number(text: str) -> float:
    """A figure as printed (1,098,210,000円 / ¥1,098 / 47.7% / +3,204) back to a number."""
    cleaned = "".join(ch for ch in text if ch.isdigit() or ch in ".-")
    return float(cleaned)


def _sizing(inv: Inventory) -> list[Sizing]:
    sizing: list[Sizing] = []
    for s in inv.systems:
        for srv in s.servers:
            for i in range(srv.count):
                cpu = max(2, math.ceil(srv.vcpu * (srv.p95_cpu_pct or 70) / 70))
                ram = max(4.0, math.ceil(srv.ram_gb * (srv.p95_ram_pct or 70) / 70))
                sizing.append(Sizing(
                    system_id=s.id, role=srv.role, index=i, layer=s.layer.value,
                    before=Resources(vcpu=srv.vcpu, ram_gb=srv.ram_gb, disk_gb=srv.disk_gb),
                    after=Resources(vcpu=cpu, ram_gb=ram, disk_gb=srv.disk_gb),
                    basis="utilisation" if srv.p95_cpu_pct is not None else "spec", flavor=f"s{cpu}.{int(ram)}",
                    anti_affinity_group=f"{s.id}/{srv.role}" if srv.count > 1 else None,
                ))
    return sizing


def _zones(sizing: list[Sizing], cat: Catalogue) -> list[ZonePlan]:
    zones: list[ZonePlan] = []
    h = cat.host
    for layer in ("mynumber", "lgwan", "internet", "shared"):
        vms = [z for z in sizing if z.layer == layer]
        oc = cat.overcommit[layer]  # type: ignore[index]
        cap = Resources(vcpu=(h.vcpu - h.reserved_vcpu) * oc.cpu, ram_gb=(h.ram_gb - h.reserved_ram_gb) * oc.ram,
                        disk_gb=h.disk_gb)
        hosts: list[HostLoad] = []
        for vm in sorted(vms, key=lambda v: -v.after.ram_gb):
            vid = f"{vm.system_id}/{vm.role}/{vm.index}"
            for hl in hosts:
                u = hl.used
                if (u.vcpu + vm.after.vcpu <= cap.vcpu and u.ram_gb + vm.after.ram_gb <= cap.ram_gb
                        and u.disk_gb + vm.after.disk_gb <= cap.disk_gb):
                    hl.used = Resources(vcpu=u.vcpu + vm.after.vcpu, ram_gb=u.ram_gb + vm.after.ram_gb,
                                        disk_gb=u.disk_gb + vm.after.disk_gb)
                    hl.vms.append(vid)
                    break
            else:
                hosts.append(HostLoad(name=f"{layer}-{len(hosts) + 1:02d}", layer=layer, used=vm.after.model_copy(),
                                      capacity=cap, vms=[vid]))
        hosts.append(HostLoad(name=f"{layer}-{len(hosts) + 1:02d}", layer=layer,
                              used=Resources(vcpu=0, ram_gb=0, disk_gb=0), capacity=cap, vms=[]))  # N+1 spare
        tot = Resources(vcpu=sum(v.after.vcpu for v in vms), ram_gb=sum(v.after.ram_gb for v in vms),
                        disk_gb=sum(v.after.disk_gb for v in vms))
        lb = max(math.ceil(tot.vcpu / cap.vcpu), math.ceil(tot.ram_gb / cap.ram_gb), math.ceil(tot.disk_gb / cap.disk_gb)) + 1
        n = len(hosts)
        zones.append(ZonePlan(
            layer=layer, vms=len(vms), hosts=n, lower_bound=lb, gap_pct=round((n - lb) / lb * 100, 1),
            solver="cp-sat" if len(vms) < 200 else "heuristic", optimal=n == lb, n_plus_one=True,
            vms_per_host=round(len(vms) / n, 2),
            utilisation_pct=Resources(vcpu=round(tot.vcpu / (cap.vcpu * n) * 100, 1),
                                      ram_gb=round(tot.ram_gb / (cap.ram_gb * n) * 100, 1),
                                      disk_gb=round(tot.disk_gb / (cap.disk_gb * n) * 100, 1)),
            host_loads=hosts,
        ))
    return zones


def _dr(inv: Inventory, sizing: list[Sizing]) -> DrSitePlan:
    def tier(s: System) -> DrTier:
        name = "warm" if s.rto_hours <= 4 else ("backup" if s.rto_hours <= 72 else "none")
        promise = {"warm": (0.25, 4.0), "backup": (24.0, 72.0), "none": (720.0, 720.0)}[name]
        return DrTier(system_id=s.id, tier=name, reason=f"RPO {s.rpo_hours:g}h / RTO {s.rto_hours:g}h",  # type: ignore[arg-type]
                      rpo_hours=s.rpo_hours, rto_hours=s.rto_hours, tier_rpo_hours=promise[0], tier_rto_hours=promise[1],
                      rpo_short_hours=max(0.0, promise[0] - s.rpo_hours), rto_short_hours=max(0.0, promise[1] - s.rto_hours))

    tiers = [tier(s) for s in inv.systems]
    return DrSitePlan(tiers=tiers, standby_hosts=3, backup_tb=round(sum(z.after.disk_gb for z in sizing) / 1024, 1),
                      replica_tb=0.0, replication_mbps=0.0, network_lines=1, racks=1.0,
                      misses=sum(1 for x in tiers if x.rpo_short_hours or x.rto_short_hours))


def _waves(inv: Inventory) -> list[Wave]:
    ids = [s.id for s in inv.systems]
    return [Wave(number=i + 1, systems=ids[i * 20:(i + 1) * 20], reason=f"fixture wave {i + 1}", fiscal_year=2026 + i // 4,
                 quarter=i % 4 + 1, starts=date(2026, 4 + 2 * i, 1), ends=date(2026, 5 + 2 * i, 28),
                 deadline=date(2027, 3, 31), deadline_ja="期限", deadline_en="deadline", beats_deadline=i < 3)
            for i in range(4)]


def _links(inv: Inventory) -> list[LinkPlan]:
    layer_of = {s.id: s.layer.value for s in inv.systems}
    return [LinkPlan(source=s.id, target=lk.target, protocol=lk.protocol.value, port=lk.port,
                     source_layer=s.layer.value, target_layer=layer_of[lk.target],  # type: ignore[arg-type]
                     path=classify_link(s.layer.value, layer_of[lk.target],  # type: ignore[arg-type]
                                        lk.direction.value, lk.port))
            for s in inv.systems for lk in s.links]



def _cost(inv: Inventory, cat: Catalogue, zones: list[ZonePlan]) -> CostCase:
    h = cat.host
    base = {k: sum(getattr(s.costs, k) for s in inv.systems)
            for k in ("hardware", "maintenance", "licences", "operations", "facility")}
    hw_maint = base["maintenance"] // 2  # the fixture splits 保守 in half
    items = {"hardware": base["hardware"], "maintenance_hardware": hw_maint,
             "maintenance_application": base["maintenance"] - hw_maint, "licences": base["licences"],
             "operations": base["operations"], "facility": base["facility"]}
    labels = {"hardware": ("ハードウェア", "Hardware"), "maintenance_hardware": ("ハードウェア保守", "Hardware maintenance"),
              "maintenance_application": ("アプリケーション保守", "Application maintenance"),
              "licences": ("ライセンス", "Licences"), "operations": ("運用", "Operations"),
              "facility": ("設置・電力", "Facility")}
    baseline_lines = [CostLine(key=k, item=k, label_ja=labels[k][0], label_en=labels[k][1], annual_yen=v,  # type: ignore[arg-type]
                               source="inventory", assumption="fixture")
                      for k, v in items.items()]
    nh = sum(z.hosts for z in zones)
    carry = cat.carryover
    cons = {
        "hosts": ("hardware", nh * h.price.yen // int(h.amortisation_years.value), "ホスト（償却）", "Hosts (amortised)",
                  h.price.source),
        "host_maintenance": ("maintenance_hardware", int(nh * h.price.yen * cat.maintenance_rate.value), "ホスト保守",
                             "Host maintenance", cat.maintenance_rate.source),
        "rack_power": ("facility", nh * cat.rack_power_per_host_year.yen, "ラック・電力", "Rack and power",
                       cat.rack_power_per_host_year.source),
        "platform_ops": ("operations", 3 * cat.operations.cost_per_fte.yen, "基盤運用", "Platform operations",
                         "fixture: 3 FTE"),
        "app_maint": ("maintenance_application", int(items["maintenance_application"] * carry.maintenance_application.value),
                      "アプリケーション保守", "Application maintenance", carry.maintenance_application.source),
        "app_ops": ("operations", int(base["operations"] * carry.operations.value), "業務システム運用",
                    "Application operations", carry.operations.source),
        "licences": ("licences", int(base["licences"] * carry.licences.value), "ライセンス", "Licences",
                     carry.licences.source),
        "dr_site": ("dr", 2 * cat.dr_site.rack_per_year.yen + cat.dr_site.network_per_year.yen, "庁外DRサイト", "DR site",
                    cat.dr_site.rack_per_year.source),
    }
    consolidated_lines = [CostLine(key=k, item=item, label_ja=ja, label_en=en, annual_yen=v, source="fixture",  # type: ignore[arg-type]
                                   assumption=src)
                          for k, (item, v, ja, en, src) in cons.items()]
    baseline_annual = sum(base.values())
    consolidated_annual = sum(line.annual_yen for line in consolidated_lines)
    servers = sum(srv.count for s in inv.systems for srv in s.servers)
    migration = servers * cat.migration.per_server.yen + len(inv.systems) * cat.migration.per_system.yen
    by_year: list[CostYear] = []
    cb = cc = 0
    break_even = None
    for y in range(1, YEARS + 1):
        yb, yc = baseline_annual, consolidated_annual + (migration if y == 1 else 0)
        cb, cc = cb + yb, cc + yc
        if break_even is None and cc <= cb:
            break_even = y
        by_year.append(CostYear(year=y, baseline_yen=yb, consolidated_yen=yc, cumulative_baseline_yen=cb,
                                cumulative_consolidated_yen=cc))
    terminals = sum(t.count for t in inv.terminals)
    v = cat.vdi
    pc = int(terminals * (v.pc_price.yen / v.pc_life_years.value + v.pc_support_per_year.yen))
    tc = int(terminals * (v.thin_client_price.yen / v.thin_client_life_years.value + v.thin_client_support_per_year.yen
                          + v.vdi_licence_per_user_year.yen)
             + math.ceil(terminals / v.users_per_host.value) * (h.price.yen / 5 + cat.rack_power_per_host_year.yen))
    ratio = round(consolidated_annual / baseline_annual * 100, 1)
    return CostCase(
        years=YEARS, baseline_annual_yen=baseline_annual, consolidated_annual_yen=consolidated_annual, ratio_pct=ratio,
        reduction_pct=round(100 - ratio, 1), goal_met=ratio <= 50, migration_one_off_yen=migration,
        break_even_year=break_even, baseline_lines=baseline_lines, consolidated_lines=consolidated_lines, by_year=by_year,
        thin_client=ThinClientCase(
            terminals=terminals, pc_annual_yen=pc, thin_client_annual_yen=tc, difference_yen=tc - pc,
            security_benefits_ja=["端末にデータが残らない", "USB・印刷の持ち出しを一元的に制御"],
            maintenance_benefits_ja=["OS・アプリの更新をサーバ側で一度に実施", "端末故障時は交換のみ"],
            security_benefits_en=["no data left on the terminal", "USB and printing controlled centrally"],
            maintenance_benefits_en=["OS and application updates done once, on the servers", "a broken terminal is just swapped"],
        ),
        standard_ops_annual_yen=sum(s.costs.total for s in inv.systems if s.standard_op),
        gap_to_goal_yen=consolidated_annual - baseline_annual // 2, maintenance_split_defaulted=len(inv.systems),
        platform_fte=3.0,
        sensitivity=[Sensitivity(case=case, consolidated_annual_yen=round(consolidated_annual * k),  # type: ignore[arg-type]
                                 ratio_pct=round(ratio * k, 1), goal_met=ratio * k <= 50)
                     for case, k in (("pessimistic", 1.1), ("expected", 1.0), ("optimistic", 0.9))],
    )


def fixture_plan(inv: Inventory, cat: Catalogue) -> Plan:
    sizing = _sizing(inv)
    zones = _zones(sizing, cat)
    dr, waves, links, cost = _dr(inv, sizing), _waves(inv), _links(inv), _cost(inv, cat, zones)
    m = inv.municipality
    return Plan(
        municipality=m.name, fiscal_year=m.fiscal_year, separation_model=m.separation_model.value, sizing=sizing,
        zones=zones, dr=dr, waves=waves, government_cloud=[s.id for s in inv.systems if s.standard_op], links=links,
        cost=cost,
    )


def test_fixture_plan_is_a_valid_plan() -> None:
    """The hand-built plan the report tests render must satisfy the plan.json contract."""
    from shuyaku.inventory.load import load

    loaded = load(SAMPLE)
    assert loaded.catalogue is not None
    plan = fixture_plan(loaded.inventory, loaded.catalogue)
    again = Plan.model_validate_json(plan.model_dump_json())
    assert again == plan
    assert sum(z.vms for z in plan.zones) == len(plan.sizing)
    assert plan.cost.by_year[-1].cumulative_baseline_yen == plan.cost.baseline_annual_yen * plan.cost.years
