"""Cross-resource facts for stack-level rules: references, tags, which layer and system a resource is in.

A reference (a rule's securityGroupId, a quota's projectId) is followed through the engine's property
dependencies first, which CrossGuard sees even in a preview where ids are not known yet, then by id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from shuyaku.contracts import tags as tagvocab
from shuyaku.contracts.vocabulary import LAYERS
from shuyaku.policy import tenancy
from shuyaku.policy.model import Resource, plain

T_PROJECT = "openstack:identity/project:Project"
T_GROUP = "openstack:identity/groupV3:GroupV3"
T_ROLE = "openstack:identity/role:Role"
T_ROLE_ASSIGN = "openstack:identity/roleAssignment:RoleAssignment"
T_ROLE_INHERIT = "openstack:identity/inheritRoleAssignment:InheritRoleAssignment"
T_NETWORK = "openstack:networking/network:Network"
T_SUBNET = "openstack:networking/subnet:Subnet"
T_PORT = "openstack:networking/port:Port"
T_ROUTER = "openstack:networking/router:Router"
T_ROUTER_ROUTE = "openstack:networking/routerRoute:RouterRoute"
T_ROUTER_ROUTES = "openstack:networking/routerRoutesV2:RouterRoutesV2"
T_SUBNET_ROUTE = "openstack:networking/subnetRoute:SubnetRoute"
T_FIP = "openstack:networking/floatingIp:FloatingIp"
T_FIP_ASSOC = "openstack:networking/floatingIpAssociate:FloatingIpAssociate"
T_SG = "openstack:networking/secGroup:SecGroup"
T_SG_RULE = "openstack:networking/secGroupRule:SecGroupRule"
T_INSTANCE = "openstack:compute/instance:Instance"
T_VOLUME = "openstack:blockstorage/volume:Volume"
T_VOLUME_ATTACH = "openstack:compute/volumeAttach:VolumeAttach"
T_QUOTA_COMPUTE = "openstack:compute/quotaSetV2:QuotaSetV2"
T_QUOTA_NETWORK = "openstack:networking/quotaV2:QuotaV2"
T_QUOTA_VOLUME = "openstack:blockstorage/quoteSetV3:QuoteSetV3"
T_FW_RULE = "openstack:firewall/ruleV2:RuleV2"
T_ROUTER_INTERFACE = "openstack:networking/routerInterface:RouterInterface"
T_IMAGE = "openstack:images/image:Image"
T_IMAGE_ACCESS = "openstack:images/imageAccess:ImageAccess"
T_IMAGE_ACCEPT = "openstack:images/imageAccessAccept:ImageAccessAccept"
T_KEYPAIR = "openstack:compute/keypair:Keypair"
T_PROVIDER = "pulumi:providers:openstack"
T_STACK = "pulumi:pulumi:Stack"

# Which property leads from a resource to the one that knows its tenant, tried in order.
_UPSTREAM: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    T_SG_RULE: (("securityGroupId", (T_SG,)),),
    T_SUBNET: (("networkId", (T_NETWORK,)),),
    T_PORT: (("networkId", (T_NETWORK,)),),
    T_ROUTER_ROUTE: (("routerId", (T_ROUTER,)),),
    T_ROUTER_ROUTES: (("routerId", (T_ROUTER,)),),
    T_SUBNET_ROUTE: (("subnetId", (T_SUBNET,)),),
    T_FIP: (("portId", (T_PORT,)),),
    T_FIP_ASSOC: (("portId", (T_PORT,)),),
    T_ROUTER_INTERFACE: (("routerId", (T_ROUTER,)), ("subnetId", (T_SUBNET,)), ("portId", (T_PORT,))),
    T_IMAGE_ACCESS: (("imageId", (T_IMAGE,)),),
    T_IMAGE_ACCEPT: (("imageId", (T_IMAGE,)),),
}


_MD_PREFIXES = (tagvocab.PREFIX + ":", tagvocab.PREFIX + "_")


def tags_of(res: Resource) -> dict[str, str]:
    """shuyaku:* tags of a resource; Cinder and Nova carry them as metadata keys instead."""
    out: dict[str, str] = {}
    for key in ("allTags", "tags"):
        v = plain(res.props.get(key))
        if isinstance(v, list):
            out.update(tagvocab.parse([plain(x) for x in v if isinstance(plain(x), str)]))
    md = plain(res.props.get("metadata"))
    if isinstance(md, dict):
        for k, v in md.items():
            v = plain(v)
            # Cinder/Nova metadata keys: "shuyaku:layer" or, as the platform writes them, "shuyaku_layer".
            if isinstance(k, str) and k[: len(tagvocab.PREFIX) + 1] in _MD_PREFIXES and isinstance(v, str):
                out.setdefault(k[len(tagvocab.PREFIX) + 1 :], v)
    return out


class Index(list):
    """The stack's resources with lookups by URN, id and type; built once per audit."""

    def __init__(self, resources: Iterable[Resource], stack_config: dict[str, tuple[Any, bool]] | None = None):
        super().__init__(resources)
        self.stack_config = stack_config
        self.by_urn: dict[str, Resource] = {}
        self.by_id: dict[str, list[Resource]] = defaultdict(list)
        self.by_type: dict[str, list[Resource]] = defaultdict(list)
        for r in self:
            self.by_urn[r.urn] = r
            if r.id:
                self.by_id[r.id].append(r)
            self.by_type[r.type].append(r)
        self._layer: dict[str, str | None] = {}
        self._project: dict[str, Resource | None] = {}
        self._tags: dict[str, dict[str, str]] = {}
        self._tag: dict[tuple[str, str], str | None] = {}
        self.memo: dict[object, object] = {}  # per-audit caches rules may share

    @classmethod
    def ensure(cls, resources: Iterable[Resource]) -> Index:
        return resources if isinstance(resources, Index) else cls(resources)

    def of_type(self, *types: str) -> list[Resource]:
        if len(types) == 1:
            return self.by_type.get(types[0], [])
        return [r for t in types for r in self.by_type.get(t, [])]

    @property
    def stack_tenant(self) -> tenancy.StackTenant | None:
        """The tenant this stack deploys into when it is a vendor's stack (see tenancy.py), else None."""
        if "stack_tenant" not in self.memo:
            self.memo["stack_tenant"] = tenancy.find(self, self.by_type, self.stack_config, self.own_tags)
        return self.memo["stack_tenant"]  # type: ignore[return-value]

    @property
    def stack_urn(self) -> str | None:
        stacks = self.by_type.get(T_STACK)
        return stacks[0].urn if stacks else None

    def ref(self, res: Resource, prop: str, types: tuple[str, ...]) -> Resource | None:
        """The resource `res.props[prop]` points at, if it is in this stack."""
        for urn in res.deps.get(prop, ()):
            target = self.by_urn.get(urn)
            if target is not None and target.type in types:
                return target
        value = plain(res.props.get(prop))
        if isinstance(value, str) and value:
            for target in self.by_id.get(value, ()):
                if target.type in types:
                    return target
            target = self.by_urn.get(value)
            if target is not None and target.type in types:
                return target
        return None

    def provider(self, res: Resource) -> Resource | None:
        if not res.provider:
            return None
        p = self.by_urn.get(res.provider)
        if p is None and "::" in res.provider:
            p = self.by_urn.get(res.provider.rsplit("::", 1)[0])
        return p

    def project(self, res: Resource) -> Resource | None:
        """The Keystone project a resource belongs to, through tenantId/projectId, its chain, or provider."""
        if res.type == T_PROJECT:
            return res
        if res.urn in self._project:
            return self._project[res.urn]
        self._project[res.urn] = None  # guards against reference cycles
        found = None
        for prop in ("tenantId", "projectId"):
            found = self.ref(res, prop, (T_PROJECT,))
            if found:
                break
        if found is None:
            for prop, types in _UPSTREAM.get(res.type, ()):
                up = self.ref(res, prop, types)
                if up is not None:
                    found = self.project(up)
                    if found:
                        break
        if found is None:
            prov = self.provider(res)
            if prov is not None:
                found = self._project_of_provider(prov)
        self._project[res.urn] = found
        return found

    def _project_of_provider(self, prov: Resource) -> Resource | None:
        for prop in ("tenantId", "projectId"):
            p = self.ref(prov, prop, (T_PROJECT,))
            if p:
                return p
        name = plain(prov.props.get("tenantName"))
        if isinstance(name, str) and name:
            for p in self.of_type(T_PROJECT):
                if plain(p.props.get("name")) == name:
                    return p
        return None

    def own_tags(self, res: Resource) -> dict[str, str]:
        tags = self._tags.get(res.urn)
        if tags is None:
            tags = self._tags[res.urn] = tags_of(res)
        return tags

    def tag(self, res: Resource, key: str) -> str | None:
        """A shuyaku tag from the resource itself, the resource it hangs off, or its project."""
        k = (res.urn, key)
        if k in self._tag:
            return self._tag[k]
        self._tag[k] = None  # guards against reference cycles
        v = self._tag[k] = self._find_tag(res, key)
        return v

    def _find_tag(self, res: Resource, key: str) -> str | None:
        v = self.own_tags(res).get(key)
        if v:
            return v
        for prop, types in _UPSTREAM.get(res.type, ()):
            up = self.ref(res, prop, types)
            if up is not None:
                v = self.tag(up, key)
                if v:
                    return v
        if res.type == T_VOLUME:
            # A volume carries no tags; the server it is attached to says where it lives.
            for inst in self._attached_to(res):
                v = self.tag(inst, key)
                if v:
                    return v
        if res.type == T_INSTANCE:
            for net in self._instance_networks(res):
                v = self.tag(net, key)
                if v:
                    return v
        proj = self.project(res)
        if proj is not None and proj is not res:
            v = self.own_tags(proj).get(key)
            if v:
                return v
        # A vendor stack's untagged resources live in the stack's own tenant.
        st = self.stack_tenant
        return st.tag(key) if st is not None and res.type != T_PROJECT else None

    def layer(self, res: Resource) -> str | None:
        if res.urn not in self._layer:
            self._layer[res.urn] = None
            v = self.tag(res, "layer")
            self._layer[res.urn] = v if v in LAYERS else None
        return self._layer[res.urn]

    def system(self, res: Resource) -> str | None:
        return self.tag(res, "system")

    def _attached_to(self, volume: Resource) -> list[Resource]:
        attached: dict[str, list[Resource]] | None = self.memo.get("attached")  # type: ignore[assignment]
        if attached is None:
            attached = {}
            for a in self.of_type(T_VOLUME_ATTACH):
                vol = self.ref(a, "volumeId", (T_VOLUME,))
                inst = self.ref(a, "instanceId", (T_INSTANCE,))
                if vol is not None and inst is not None:
                    attached.setdefault(vol.urn, []).append(inst)
            self.memo["attached"] = attached
        return attached.get(volume.urn, [])

    def _instance_networks(self, inst: Resource) -> list[Resource]:
        # In a preview the ids are unknown, but the engine still says which networks and ports they come from.
        out = [r for u in inst.deps.get("networks", ()) if (r := self.by_urn.get(u)) and r.type in (T_NETWORK, T_PORT)]
        if out:
            return out
        nets = plain(inst.props.get("networks"))
        if not isinstance(nets, list):
            return out
        for n in nets:
            n = plain(n)
            if not isinstance(n, dict):
                continue
            for key, types in (("uuid", (T_NETWORK,)), ("port", (T_PORT,)), ("name", (T_NETWORK,))):
                v = plain(n.get(key))
                if not isinstance(v, str) or not v:
                    continue
                hit = None
                for cand in self.by_id.get(v, ()):
                    if cand.type in types:
                        hit = cand
                if hit is None and key == "name":
                    hit = next((x for x in self.of_type(T_NETWORK) if plain(x.props.get("name")) == v), None)
                if hit is not None:
                    out.append(hit)
        return out

