"""Which state backend the engine uses, and keeping its password out of every message.

The local file backend (one person, the main job) is the default. A team sets `PULUMI_BACKEND_URL` (or passes
`--backend`), usually the PostgreSQL state database from `scripts/state-db env`, whose URL names a pgpass file and
carries no password. When a URL does carry one (`postgres://user:PASSWORD@...` or `password=...`), it is taken out
before the engine sees the URL and handed over as `PGPASSWORD`, which libpq and Pulumi's driver read: the engine
cannot print what it was never given, and every message shuyaku prints goes through `mask`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

HIDDEN = "****"
# scheme://user:password@host — the password is everything between the first ':' after '//' and the last '@'
# before the path; a password may hold '@' or ':' when the user did not percent-encode them.
_USERINFO = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/:@\s'\"]*:)(?P<pw>[^\s'\"/]*)(?P<at>@)")
_QUERY_PW = re.compile(r"(?P<head>[?&](?:password|pass)=)(?P<pw>[^&\s'\"]*)", re.IGNORECASE)


def mask(text: str, hidden: tuple[str, ...] | list[str] = ()) -> str:
    """`text` with URL passwords and the given secret strings replaced by ****."""
    for secret in hidden:
        if secret:
            text = text.replace(secret, HIDDEN)
    text = _USERINFO.sub(lambda m: f"{m['head']}{HIDDEN}{m['at']}", text)
    return _QUERY_PW.sub(lambda m: f"{m['head']}{HIDDEN}", text)


def split_password(url: str) -> tuple[str, str | None]:
    """The URL without its password (in the user part or a `password` parameter), and that password."""
    parts = urlsplit(url)
    password = parts.password
    netloc = parts.netloc
    if password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}@{hostport}"
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in query if k.lower() != "password"]
    if len(kept) != len(query):
        password = next(v for k, v in query if k.lower() == "password")
    if password is None:
        return url, None
    clean = urlunsplit((parts.scheme, netloc, parts.path, urlencode(kept, safe="/:,"), parts.fragment))
    return clean, unquote(password)


@dataclass(frozen=True)
class Backend:
    """A resolved backend: the URL the engine gets, the password moved out of it, and how to show it."""

    url: str
    password: str | None = field(default=None, repr=False)
    source: str = "default"  # "option", "environment" or "default"

    @property
    def kind(self) -> str:
        return urlsplit(self.url).scheme or "file"

    @property
    def is_file(self) -> bool:
        return self.kind == "file"

    @property
    def display(self) -> str:
        return mask(self.url, [self.password] if self.password else [])

    def hidden(self) -> list[str]:
        return [self.password] if self.password else []

    def env(self) -> dict[str, str]:
        """The variables the engine gets for this backend."""
        env = {"PULUMI_BACKEND_URL": self.url}
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


def resolve(option: str | None, state_dir: Path, environ: dict[str, str] | None = None) -> Backend:
    """`--backend` first, then `PULUMI_BACKEND_URL`, else the file backend in `state_dir`."""
    environ = dict(os.environ) if environ is None else environ
    if option:
        raw, source = option, "option"
    elif environ.get("PULUMI_BACKEND_URL"):
        raw, source = environ["PULUMI_BACKEND_URL"], "environment"
    else:
        return Backend(f"file://{state_dir}")
    if raw.startswith(("postgres://", "postgresql://")):
        url, password = split_password(raw)
        return Backend(url, password, source)
    return Backend(raw, None, source)
