"""The words every stage shares, defined once: layers, separation models, OS families, names.

Reports, the plan, the platform program and the policy pack all take these from here, so adding a layer
or an OS family is one edit. Display names carry both languages.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError


class Layer(StrEnum):
    mynumber = "mynumber"
    lgwan = "lgwan"
    internet = "internet"
    shared = "shared"


LAYERS: tuple[str, ...] = tuple(layer.value for layer in Layer)

LAYER_NAMES: dict[Layer, tuple[str, str]] = {
    Layer.mynumber: ("マイナンバー利用事務系", "My Number layer"),
    Layer.lgwan: ("LGWAN接続系", "LGWAN layer"),
    Layer.internet: ("インターネット接続系", "Internet layer"),
    Layer.shared: ("共通基盤（管理）", "Shared management zone"),
}


class SeparationModel(StrEnum):
    """三層の対策 models. α: terminals in LGWAN; β: groupware and some terminals in the internet layer;
    β': business systems too; α': LGWAN breakout to allow-listed cloud services (2024 guideline)."""

    alpha = "alpha"
    beta = "beta"
    beta_prime = "beta_prime"
    alpha_prime = "alpha_prime"


MODEL_NAMES: dict[SeparationModel, str] = {
    SeparationModel.alpha: "αモデル",
    SeparationModel.beta: "βモデル",
    SeparationModel.beta_prime: "β'モデル",
    SeparationModel.alpha_prime: "α'モデル",
}


class OsFamily(StrEnum):
    windows_server = "windows_server"
    rhel = "rhel"
    centos = "centos"
    almalinux = "almalinux"
    ubuntu = "ubuntu"
    debian = "debian"


OS_NAMES: dict[str, str] = {
    "windows_server": "Windows Server",
    "rhel": "RHEL",
    "centos": "CentOS",
    "almalinux": "AlmaLinux",
    "ubuntu": "Ubuntu",
    "debian": "Debian",
}


def os_label(family: str, version: str) -> str:
    return f"{OS_NAMES.get(family, family)} {version}"


Protocol = Literal["tcp", "udp"]

# Keystone caps project names at 64 characters and Neutron resource names at 255; a name longer than
# what the cloud accepts would fail half-way through a deploy, so the inventory refuses it up front.
NAME_MAX = 64
TEXT_MAX = 255
SYSTEM_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9-]{1,31}$"
# No control characters, no bidirectional overrides (U+202A-E, U+2066-9: text that reads differently
# from what it is), no line or paragraph separators. Written so that Python, Rust (pydantic) and
# ECMA-262 (JSON Schema in editors) read the same class.
SAFE_TEXT_PATTERN = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]*$"
_UNSAFE = re.compile(r"[\u0000-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
IPV4_CIDR_PATTERN = rf"^{_OCTET}(\.{_OCTET}){{3}}/([0-9]|[12][0-9]|3[0-2])$"


def _no_unsafe(value: str) -> str:
    found = _UNSAFE.search(value)
    if found:
        code = f"U+{ord(found.group()):04X}"
        raise ValueError(f"制御文字・書字方向の制御文字（{code}）は使えません / "
                         f"control or text-direction characters ({code}) are not allowed")
    if _SURROGATE.search(value):  # only a "\ud800" escape makes one; no file or report could carry it
        raise ValueError("文字として成り立たない値（サロゲート）です / a lone surrogate is not a character")
    # Two spellings of one name (composed or not) would make two tenants for one system: keep one, NFC.
    return unicodedata.normalize("NFC", value)


def numbers_not_text(value: Any, annotation: Any) -> Any:
    """YAML's `true` and a quoted "25" are not numbers: refuse them where the field is a number, as the JSON
    Schema does (pydantic's lax mode would take them). Used as a model-wide `mode="before"` validator, which
    leaves each field's JSON Schema (its minimum and maximum) as it is; 5.0 is still the integer 5."""
    if not isinstance(value, bool | str):
        return value
    types = set(getattr(annotation, "__args__", None) or (annotation,))
    if int in types or float in types:
        raise PydanticCustomError("int_type" if int in types else "float_type", "Input should be a valid number")
    return value


def _version_as_text(value: Any) -> Any:
    # YAML reads 7 or 22.04 as numbers; the lifecycle table is keyed by text.
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX, pattern=SAFE_TEXT_PATTERN), AfterValidator(_no_unsafe)]
Text255 = Annotated[str, Field(min_length=1, max_length=TEXT_MAX, pattern=SAFE_TEXT_PATTERN),
                    AfterValidator(_no_unsafe)]
# What the model takes, said so in the JSON Schema too: a version written as text, or as a YAML number.
OsVersion = Annotated[Name, BeforeValidator(_version_as_text), WithJsonSchema({
    "anyOf": [{"type": "string", "minLength": 1, "maxLength": NAME_MAX, "pattern": SAFE_TEXT_PATTERN},
              {"type": "number"}],
    "description": "OSバージョン / OS version, e.g. '2012 R2', '7', '22.04'"})]
SystemId = Annotated[str, Field(pattern=SYSTEM_ID_PATTERN,
                                description="システムID (英字で始まる英数字とハイフン2〜32文字) / system id")]
Cidr4 = Annotated[str, Field(pattern=IPV4_CIDR_PATTERN, description="IPv4 CIDR, e.g. 10.10.12.0/24")]
