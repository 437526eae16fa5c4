"""What a credential looks like in free text: key material, tokens, and password assignments."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}\b")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    ("JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("bearer token", re.compile(r"(?i)authorization:\s*bearer\s+[A-Za-z0-9._~+/=-]{16,}")),
    # TOTP: an otpauth:// URI, or a base32 seed under a totp/otp name
    ("TOTP seed", re.compile(r"(?i)otpauth://[th]otp/|\b\w*(?:totp|otp)\w*\s*[:=]\s*['\"]?[A-Z2-7]{16,}")),
    # cloud-init: password / plain_text_passwd / chpasswd list entries "user:pass"
    ("cloud-init password", re.compile(
        r"(?im)^\s*(?:-\s*)?(?:password|plain_text_passwd|passwd)\s*:\s*['\"]?(?!\s*$)(?![$%{]|!!)[^\s'\"#]+")),
    # shell: FOO_PASSWORD=..., OS_TOKEN=..., --password x, echo x | passwd --stdin
    ("password option", re.compile(r"(?i)--(?:password|passwd|token|secret)[= ]+['\"]?[^\s'\"$-][^\s'\"]{3,}")),
    ("password in environment", re.compile(
        r"(?i)\b[A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEY)\s*=\s*['\"]?[^\s'\"$]{4,}")),
    ("passwd --stdin", re.compile(r"(?i)\|\s*(?:sudo\s+)?passwd\s+--stdin")),
    # MYSQL_PWD=..., DB_PW=..., db_pw: ..., app_password = ... (env files, YAML, INI written by user data)
    ("password-named setting", re.compile(
        r"(?im)^\s*(?:export\s+)?[\w.-]*(?:_pwd?|_password|_passwd)\s*[:=]\s*['\"]?(?![$%{])[^\s'\"#]{4,}")),
]

SECRET_KEY_NAME = re.compile(r"(?i)(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential"
                             r"|(?:^|[_-])pwd?(?:$|[_-])|(?:^|[_-])t?otp(?:$|[_-]))")


# One pass over the text for the common case (nothing found); the per-kind loop only names what matched.
def _scoped(pattern: str) -> str:
    """"(?i)abc" -> "(?i:abc)": global flags may only start a whole expression."""
    m = re.match(r"\(\?([a-z]+)\)", pattern)
    return f"(?{m.group(1)}:{pattern[m.end():]})" if m else f"(?:{pattern})"


_ANY = re.compile("|".join(_scoped(p.pattern) for _k, p in PATTERNS))


def find(text: str) -> str | None:
    """The kind of secret found in `text`, or None."""
    if "chpasswd" not in text and not _ANY.search(text):
        return None
    for kind, pattern in PATTERNS:
        if pattern.search(text):
            return kind
    if "chpasswd" in text:
        # chpasswd's list form carries "user:password" lines; hashed entries ($6$...) are not plain.
        for line in text.splitlines():
            s = line.strip().lstrip("-").strip()
            if re.fullmatch(r"[a-z_][a-z0-9_-]*:(?!\$)\S{4,}", s) and not s.endswith(":"):
                return "chpasswd entry"
    return None


def leaves(path: str, value: Any, key: str | None = None) -> Iterator[tuple[str, str | None, Any]]:
    """(path, key, leaf) for every value below `path` that is not a mapping or a list. `key` is the nearest
    mapping key above the leaf (list items keep their list's key): it may name the value a secret."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(f"{path}.{k}", v, str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(f"{path}[{i}]", v, key)
    else:
        yield path, key, value


def kind_in(key: str | None, text: str) -> str | None:
    """The kind of secret a keyed text holds: any value of a secret-named key, else what `find` sees."""
    if key is not None and SECRET_KEY_NAME.search(key) and text.strip():
        return "secret-named key"
    return find(text)


def decoded(text: str) -> list[tuple[str, str]]:
    """(how, text) for what an encoded user data hides: the whole value as base64 (gzip inside or not), and
    cloud-init write_files contents marked `encoding: b64` / `gz+b64`. Nothing when it is plain text."""
    out: list[tuple[str, str]] = []
    whole = _unbase64(text)
    if whole is not None:
        out.append(("base64", whole))
        text = whole
    for m in _B64_CONTENT.finditer(text):
        inner = _unbase64(m.group("body"))
        if inner is not None:
            out.append(("write_files b64", inner))
    return out


_B64_CONTENT = re.compile(r"(?m)encoding:\s*['\"]?(?:b64|base64|gz\+b64|gzip\+base64)['\"]?\s*\n(?:.*\n)*?"
                          r"\s*content:\s*[|>]?-?\s*\n?\s*(?P<body>[A-Za-z0-9+/=\s]{16,})")


def _unbase64(text: str) -> str | None:
    import base64
    import binascii
    import gzip

    compact = re.sub(r"\s+", "", text)
    if len(compact) < 16 or not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", compact):
        return None
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
