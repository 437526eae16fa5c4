"""Read the stack config and the site data it names, check both completely, and build the PlatformConfig.

Two sources meet here: the stack config (`stacks/Pulumi.<stack>.yaml`, namespace `shuyaku`) for the facts the
plan cannot know, and the per-site data that `shuyaku plan` writes (`site-*.json`, named by `shuyaku:siteData`).
Every problem in either is collected and reported together (file, line, field, fix, code) before a single
resource is registered.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shuyaku.contracts import checked, source, stack_config
from shuyaku.contracts.problems import Problem, ProblemsError, tx
from shuyaku.contracts.sitedata import SiteData
from shuyaku.contracts.stack_config import StackConfig, key
from shuyaku.platform import site_checks, staleness
from shuyaku.platform.settings import ConfigError, PlatformConfig


def load(values: Mapping[str, Any], *, stack: str, project_root: Path, config_file: Path | None = None) -> PlatformConfig:
    """Build and check the typed config; raise ConfigError listing every problem.

    `values` holds the `shuyaku:` keys without their namespace (either plain values or the JSON strings the
    engine passes, secrets included). Relative paths are relative to the project root (where Pulumi.yaml
    sits), so the program behaves the same whatever directory the engine starts it in.
    """
    stack_src, problems = stack_config.stack_source(config_file, stack, stack_config.decode(values))
    typed, found = stack_config.validate(stack_src, stack)
    problems += found
    at_fault = {p.field.split(".")[0].split("[")[0] for p in found}
    problems += _values(typed, stack_src, at_fault)
    site_path = _file(stack_src, key("siteData"), typed.site_data, project_root, at_fault, problems)
    inventory_path = _file(stack_src, key("inventory"), typed.inventory, project_root, at_fault, problems)
    site, site_src = _site(site_path, problems)
    if inventory_path is not None:
        problems += staleness.cross_check(inventory_path, site, site_src)
    if site is None or site_src is None or site_path is None:
        raise ConfigError(problems)
    cfg = platform_config(typed, stack=stack, site_path=site_path, site=site, inventory_path=inventory_path)
    problems += site_checks.check(cfg, site_src, stack_src, problems)
    if problems:
        raise ConfigError(problems)
    return cfg


def platform_config(typed: StackConfig, *, stack: str, site_path: Path, site: SiteData,
                    inventory_path: Path | None) -> PlatformConfig:
    """The typed stack config joined with the site data (not yet checked against each other)."""
    return PlatformConfig(
        stack=stack,
        site_path=site_path,
        site=site,
        lgwan_network=typed.lgwan_network,
        external_network=typed.external_network,
        proxy_cidr=typed.proxy_cidr,
        proxy_port=typed.proxy_port,
        terminal_cidrs=list(typed.terminal_cidrs),
        admin_cidrs=list(typed.admin_cidrs),
        encrypted_volume_type=typed.encrypted_volume_type,
        plain_volume_types=list(typed.plain_volume_types),
        inventory_path=inventory_path,
        primary_stack=typed.primary_stack,
        instances=typed.instances,
        operator_quotas=typed.operator_quotas,
        instance_limit=typed.instance_limit,
        zone_hosts={str(layer): list(hosts) for layer, hosts in typed.zone_hosts.items()},
        isolated_layers=[str(layer) for layer in typed.isolated_layers],
        image_aliases=dict(typed.image_aliases),
        quota_overrides={sid: q.given() for sid, q in typed.quota_overrides.items()},
        vendor_role=typed.vendor_role,
    )


def from_site(site: SiteData, **kw: Any) -> PlatformConfig:
    """A checked config around in-memory site data (tests and benchmarks; no files involved)."""
    defaults: dict[str, Any] = {
        "stack": "test",
        "site_path": Path("<memory>"),
        "lgwan_network": "lgwan",
        "external_network": "public",
        "proxy_cidr": "192.0.2.80/32",
        "terminal_cidrs": ["172.20.0.0/16"],
        "encrypted_volume_type": "encrypted",
    }
    defaults.update(kw)
    cfg = PlatformConfig(site=site, **defaults)
    stack_src, _ = stack_config.stack_source(None, cfg.stack, {})
    src = source.Source(path=cfg.site_path, data=site.model_dump(mode="json"))
    problems = site_checks.check(cfg, src, stack_src)
    if problems:
        raise ConfigError(problems)
    return cfg


def _values(typed: StackConfig, src: source.Source, at_fault: set[str]) -> list[Problem]:
    """What the types leave open: networks with host bits set, and the form of the primary stack's reference."""
    out: list[Problem] = []
    cidrs: list[tuple[source.Loc, str]] = [((key("proxyCidr"),), typed.proxy_cidr)]
    cidrs += [((key("terminalCidrs"), i), c) for i, c in enumerate(typed.terminal_cidrs)]
    cidrs += [((key("adminCidrs"), i), c) for i, c in enumerate(typed.admin_cidrs)]
    for loc, cidr in cidrs:
        if loc[0] in at_fault:
            continue
        try:
            ipaddress.IPv4Network(cidr)
        except ValueError:
            out.append(src.problem(loc, tx(f"CIDR のホスト部が0ではありません: {cidr!r}",
                                           f"host bits set in the network: {cidr!r}"),
                                   tx("例: 10.200.0.0/16（ホスト部は0）", "e.g. 10.200.0.0/16 (host bits zero)"),
                                   code="stack.cidr_host_bits"))
    if typed.primary_stack is not None and typed.primary_stack.count("/") != 2:
        out.append(src.problem((key("primaryStack"),),
                               tx(f"スタック参照の形式が違います: {typed.primary_stack}",
                                  f"not a stack reference: {typed.primary_stack}"),
                               tx("organization/shuyaku-platform/onprem の形で書いてください",
                                  "write it as organization/shuyaku-platform/onprem"),
                               code="stack.stack_reference"))
    return out


def _file(src: source.Source, name: str, value: str | None, root: Path, at_fault: set[str],
          problems: list[Problem]) -> Path | None:
    """A named file, relative to the project root; None (and a problem) when it is not there."""
    if value is None or name in at_fault:
        return None
    p = Path(value)
    p = p if p.is_absolute() else root / p
    if p.is_file():
        return p
    what = ("サイトデータ", "site data") if name == key("siteData") else ("台帳", "inventory")
    problems.append(src.problem((name,), tx(f"{what[0]}ファイルが見つかりません: {p}", f"{what[1]} file not found: {p}"),
                                tx("パスを確認してください（Pulumi.yaml のあるディレクトリからの相対パス）。"
                                   "サイトデータは `shuyaku plan` が書き出します",
                                   "check the path (relative to the directory holding Pulumi.yaml); "
                                   "`shuyaku plan` writes the site data"),
                                code="stack.file_not_found", key=True))
    return None


def _site(path: Path | None, problems: list[Problem]) -> tuple[SiteData | None, source.Source | None]:
    if path is None:
        return None, None
    try:
        site_src = source.load(path)
    except ProblemsError as exc:
        problems += exc.problems
        return None, None
    site, found = checked.check(SiteData, site_src)
    problems += found
    return site, site_src
