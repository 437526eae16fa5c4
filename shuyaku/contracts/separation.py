"""Three-layer separation (三層の対策): which path a data link between two layers must take.

One table serves the assessment (is a legacy link allowed?), the plan (which path it will take on the
platform), the platform program (which security-group rule to write) and the policy pack.
"""

from __future__ import annotations

from typing import Literal

Path = Literal["direct", "hub", "relay", "screen", "forbidden"]

# Between two layers, regardless of model: My Number data never meets the internet; My Number and LGWAN
# exchange data only through the integration hub (a listed exception); internet and LGWAN only through
# the sanitising relay (files) or screen transfer (VDI); the shared management zone serves every layer.
_BASE: dict[frozenset[str], Path] = {
    frozenset({"mynumber", "internet"}): "forbidden",
    frozenset({"mynumber", "lgwan"}): "hub",
    frozenset({"lgwan", "internet"}): "relay",
}

# Ports that are screen transfer rather than data: RDP and TLS browser access to the VDI pool.
SCREEN_PORTS = frozenset({3389, 443, 6080})


def link_path(model: str, src_layer: str, dst_layer: str, port: int | None = None) -> Path:
    """The path a link from src to dst must take under the separation model.

    The models differ in where terminals and systems sit (which the inventory records), not in which
    paths are allowed between layers, so `model` only matters through the layers it put systems in.
    """
    if src_layer == dst_layer or "shared" in (src_layer, dst_layer):
        return "direct"
    path = _BASE[frozenset({src_layer, dst_layer})]
    if path == "relay" and port in SCREEN_PORTS and dst_layer == "internet":
        return "screen"
    return path


def describe(path: Path) -> tuple[str, str]:
    return {
        "direct": ("同一系内の直接通信", "direct, within one layer or to shared services"),
        "hub": ("データ連携基盤を経由（例外として許可）", "through the data-integration hub (listed exception)"),
        "relay": ("無害化中継（ファイル）を経由", "through the file-sanitising relay"),
        "screen": ("画面転送（VDI）のみ", "screen transfer (VDI) only"),
        "forbidden": ("禁止（マイナンバー系とインターネット系は接続不可）",
                      "forbidden (My Number and internet layers never connect)"),
    }[path]
