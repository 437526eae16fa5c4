"""Three-layer separation (三層の対策): which path traffic between two layers must take, and what the
separation model changes.

One table serves the assessment (is a legacy link allowed?), the plan (which path it will take on the
platform), the platform program (which security-group rule to write) and the policy pack (which rules
between layers it refuses).

A data link between two systems takes the same path under every model: the models differ in where
terminals sit (which decides where the screen-transfer servers are) and, under α', in LGWAN breakout to
allow-listed cloud services. Those two facts are separate functions here, not a hidden argument to
`link_path`.
"""

from __future__ import annotations

from typing import Literal

from shuyaku.contracts.vocabulary import Layer, SeparationModel

Path = Literal["direct", "hub", "relay", "screen", "forbidden"]

# Between two layers: My Number data never meets the internet; My Number and LGWAN exchange data only
# through the integration hub (a listed exception); internet and LGWAN only through the sanitising relay
# (files) or screen transfer (VDI); the shared management zone serves every layer.
_BASE: dict[frozenset[str], Path] = {
    frozenset({Layer.mynumber.value, Layer.internet.value}): "forbidden",
    frozenset({Layer.mynumber.value, Layer.lgwan.value}): "hub",
    frozenset({Layer.lgwan.value, Layer.internet.value}): "relay",
}

# The zone every layer may use directly (NTP, DNS, logs, patch mirror, backup, bastion). It serves the
# layers; it must not become a bridge between them.
SERVICE_LAYER = Layer.shared

# Ports that are screen transfer rather than data: RDP and TLS browser access to the VDI pool.
SCREEN_PORTS = frozenset({3389, 443, 6080})

# Where screen-transfer (VDI) servers sit, by model. α/α': terminals are in LGWAN and reach a virtual
# browser / desktop in the internet layer. β/β': terminals are in the internet layer too, and reach their
# LGWAN work through a desktop pool in the LGWAN layer.
_SCREEN_SERVERS: dict[SeparationModel, frozenset[Layer]] = {
    SeparationModel.alpha: frozenset({Layer.internet}),
    SeparationModel.alpha_prime: frozenset({Layer.internet}),
    SeparationModel.beta: frozenset({Layer.internet, Layer.lgwan}),
    SeparationModel.beta_prime: frozenset({Layer.internet, Layer.lgwan}),
}

# Layers that may reach allow-listed cloud services on the internet directly, by model (α': 2024
# guideline, LGWAN breakout). Every other model: none.
_BREAKOUT: dict[SeparationModel, frozenset[Layer]] = {
    SeparationModel.alpha_prime: frozenset({Layer.lgwan}),
}


# What a link declares itself to be (the inventory's `kind`, carried into the site data's flows).
Kind = Literal["screen", "file", "api", "direct"]


def link_path(src_layer: str, dst_layer: str, port: int | None = None, kind: str | None = None) -> Path:
    """The path a data link from a system in `src_layer` to one in `dst_layer` must take.

    Between LGWAN and the internet layer, a link towards the internet layer is screen transfer (the VDI there)
    when it declares `kind: screen`, or, with no kind declared, when its port is a screen-transfer port; every
    other link between the two goes through the sanitising relay. Everywhere else the layers alone decide (hub,
    forbidden, direct): a declared kind never opens a path the layers do not allow.
    """
    if src_layer == dst_layer or SERVICE_LAYER in (src_layer, dst_layer):
        return "direct"
    path = _BASE[frozenset({str(src_layer), str(dst_layer)})]
    if path != "relay" or dst_layer != Layer.internet:
        return path
    screen = str(kind) == "screen" if kind is not None else port in SCREEN_PORTS
    return "screen" if screen else "relay"


def screen_servers(model: SeparationModel | str) -> frozenset[Layer]:
    """The layers whose VDI servers may accept screen transfer from the other side of the relay pair."""
    return _SCREEN_SERVERS[SeparationModel(model)]


def breakout_layers(model: SeparationModel | str) -> frozenset[Layer]:
    """Layers that may reach allow-listed cloud services directly under `model` (α': LGWAN)."""
    return _BREAKOUT.get(SeparationModel(model), frozenset())


def never_internet(layer: str) -> bool:
    """A layer with no path to the internet at all: one forbidden to meet even the internet layer."""
    return layer != Layer.internet and layer != SERVICE_LAYER and link_path(layer, Layer.internet) == "forbidden"


def describe(path: Path) -> tuple[str, str]:
    return {
        "direct": ("同一系内の直接通信", "direct, within one layer or to shared services"),
        "hub": ("データ連携基盤を経由（例外として許可）", "through the data-integration hub (listed exception)"),
        "relay": ("無害化中継（ファイル）を経由", "through the file-sanitising relay"),
        "screen": ("画面転送（VDI）のみ", "screen transfer (VDI) only"),
        "forbidden": ("禁止（マイナンバー系とインターネット系は接続不可）",
                      "forbidden (My Number and internet layers never connect)"),
    }[path]
