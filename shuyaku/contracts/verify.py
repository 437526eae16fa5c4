"""The connection cases of `shuyaku verify --migrated`: what each source guest must reach, and what it must not.

`shuyaku.verify.matrix` builds a CaseSet from plan.json and the stack's outputs; the testinfra suite
`tests/infra/test_migrated.py` reads the same file (its path in SHUYAKU_MIGRATED_CASES) and tries every case with
a real connection from the source guest. Nothing here is secret: host names, addresses and ports only.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shuyaku.contracts.vocabulary import Layer

# The inventory group the cases' source hosts are in; the suite refuses to probe from any host outside it.
MIGRATED_GROUP = "shuyaku_migrated"
CASES_ENV = "SHUYAKU_MIGRATED_CASES"

# Why a case exists; the suite and the CLI print the matching sentence (shuyaku.verify.matrix.WHY).
Why = Literal[
    "planned_direct",  # a planned link, straight to the target
    "planned_to_mediator",  # a planned link's first leg: source to the hub or relay
    "planned_from_mediator",  # its second leg: the hub or relay to the target
    "mediated_bypass",  # a mediated link tried straight: must be refused
    "unlinked_pair",  # two systems with no planned link between them
    "mynumber_outside",  # a My Number source towards anything outside its layer but the hub
    "mynumber_hub_unlisted",  # a My Number source to the hub on a port no planned link lists
    "internet_via_proxy",  # an internet-layer source reaches the internet host through the proxy
    "internet_direct",  # ... and not straight
    "lgwan_internet",  # an LGWAN source towards the internet host (or the proxy)
]


Expect = Literal["allow", "refuse"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Proxy(_Strict):
    """An HTTP proxy the case goes through (CONNECT address:port)."""

    address: str
    port: int = Field(ge=1, le=65535)


class ConnectionCase(_Strict):
    id: str = Field(description="stable test id: <source host>-to-<target>-<protocol><port>[-via-proxy]")
    source: str = Field(description="source system id, or the shared service (hub, relay)")
    source_host: str = Field(description="the inventory host the connection is tried from")
    source_address: str = Field(description="its address, checked against the inventory before any probe")
    source_layer: Layer
    target: str = Field(description="target system id, shared service name, `proxy` or `internet`")
    target_layer: Layer | None = Field(description="None for the proxy and the internet host (outside the cloud)")
    address: str
    protocol: Literal["tcp"] = "tcp"
    port: int = Field(ge=1, le=65535)
    via: Proxy | None = None
    expect: Expect
    why: Why
    link: str | None = Field(default=None, description="the planned link the case comes from, e.g. juki->atena tcp/1433")
    banner: str | None = Field(default=None, description="an allowed connection must answer a line starting so")


class PairCoverage(_Strict):
    source_layer: Layer
    target_layer: Layer
    tried: int = Field(ge=0)
    possible: int = Field(ge=0)


class Untried(_Strict):
    what: str
    ja: str
    en: str


class Coverage(_Strict):
    planned_links: int = Field(description="links in the plan")
    planned_tried: int = Field(description="of them, tried (both ends migrated, TCP, not screen transfer)")
    unlinked_tried: int
    unlinked_possible: int = Field(description="ordered pairs of migrated systems with no planned link")
    unlinked_by_layer: list[PairCoverage]
    untried: list[Untried] = Field(description="what the matrix leaves out, and why")


class CaseSet(_Strict):
    model_config = ConfigDict(extra="forbid", title="shuyaku verify --migrated cases")
    schema_version: Literal[1] = 1
    stack: str
    municipality: str
    group: str = MIGRATED_GROUP
    seed: int
    bound: int = Field(description="at most this many cases; the unlinked pairs are sampled to fit")
    cases: list[ConnectionCase]
    coverage: Coverage
