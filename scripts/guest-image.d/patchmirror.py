"""The dev cloud's patch mirror: the packages the `baseline` role installs, as a signed Debian archive.

The platform's patch mirror (a shared service) is the only APT source a migrated server may use (MIC 6.3, the
baseline role's sources.list). On the dev cloud nothing reaches Debian but this machine, so the mirror is built
here with the image: the `.deb` files the baseline role's package task needs beyond what the image already has
(apt resolves them inside the image's own root, so the set is exact), laid out as three suites (`bookworm`,
`bookworm-updates` and `bookworm-security` under `debian-security`, the last two empty) and signed with a key of
its own. The image trusts that key (`/etc/apt/trusted.gpg.d/shuyaku-patch-mirror.asc`), the way a closed
network's images trust the key their internal mirror re-signs with. The private half is thrown away once the
suites are signed: nothing is ever signed with it again, and it is never in the repository or the cache.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BASELINE_PACKAGES = ROOT / "roles" / "baseline" / "tasks" / "packages.yml"
BASELINE_UNITS = ROOT / "roles" / "baseline" / "files" / "enabled-units.txt"
TRUSTED = "etc/apt/trusted.gpg.d/shuyaku-patch-mirror.asc"
SUITES = {"debian": ["bookworm", "bookworm-updates"], "debian-security": ["bookworm-security"]}


def baseline_packages() -> list[str]:
    """The names in the role's apt task: the mirror follows the role, not a second list."""
    tasks = yaml.safe_load(BASELINE_PACKAGES.read_text(encoding="utf-8"))
    for task in tasks:
        apt = task.get("ansible.builtin.apt") or {}
        if apt.get("name"):
            return list(apt["name"])
    raise RuntimeError(f"{BASELINE_PACKAGES}: no apt task with package names")


def baseline_units() -> list[str]:
    """The units the role starts only once it has configured them (the role's own list)."""
    lines = BASELINE_UNITS.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def gpg(home: Path, *args: str) -> None:
    subprocess.run(["gpg", "--homedir", str(home), "--batch", "--quiet", "--yes", *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_key(home: Path) -> str:
    """A signing key for this image's mirror; returns its armoured public half."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    gpg(home, "--passphrase", "", "--quick-gen-key", "shuyaku dev patch mirror <mirror@shuyaku.invalid>",
        "ed25519", "sign", "never")
    return subprocess.run(["gpg", "--homedir", str(home), "--armor", "--export"], capture_output=True, text=True,
                          check=True).stdout


def download(root: Path, names: list[str], env: dict[str, str]) -> list[Path]:
    """The .debs apt in the image's root would fetch to install `names` (already-installed ones are not); they stay
    in the root's archive cache, so that the image can install the same files."""
    archives = root / "var/cache/apt/archives"
    for old in archives.glob("*.deb"):
        old.unlink()
    done = subprocess.run(["chroot", str(root), "apt-get", "-y", "-q", "-o", "APT::Install-Recommends=false",
                           "install", "--download-only", *names], env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"apt-get install --download-only failed: {(done.stdout + done.stderr)[-2000:]}")
    return sorted(archives.glob("*.deb"))


def control(deb: Path) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True).stdout.strip()


def digests(data: bytes) -> dict[str, str]:
    return {"MD5Sum": hashlib.md5(data).hexdigest(), "SHA256": hashlib.sha256(data).hexdigest()}


def packages_index(archive: Path, debs: list[Path]) -> str:
    stanzas = []
    for deb in debs:
        data = deb.read_bytes()
        sums = digests(data)
        rel = deb.relative_to(archive).as_posix()
        stanzas.append(f"{control(deb)}\nFilename: {rel}\nSize: {len(data)}\nMD5sum: {sums['MD5Sum']}\n"
                       f"SHA256: {sums['SHA256']}\n")
    return "\n".join(stanzas)


def write_suite(archive: Path, suite: str, index: str, home: Path) -> None:
    dist = archive / "dists" / suite
    binary = dist / "main" / "binary-amd64"
    binary.mkdir(parents=True, exist_ok=True)
    raw = index.encode()
    files = {"main/binary-amd64/Packages": raw, "main/binary-amd64/Packages.gz": gzip.compress(raw, mtime=0)}
    for rel, data in files.items():
        (dist / rel).write_bytes(data)
    lines = [f"Origin: shuyaku\nLabel: shuyaku patch mirror\nSuite: {suite}\nCodename: {suite}\n"
             "Architectures: amd64\nComponents: main\nDescription: the dev cloud's patch mirror"]
    for field in ("MD5Sum", "SHA256"):
        lines.append(f"{field}:")
        lines += [f" {digests(d)[field]} {len(d)} {rel}" for rel, d in files.items()]
    release = dist / "Release"
    release.write_text("\n".join(lines) + "\n")
    gpg(home, "--clearsign", "-o", str(dist / "InRelease"), str(release))
    gpg(home, "--armor", "--detach-sign", "-o", str(dist / "Release.gpg"), str(release))


def build(root: Path, out: Path, env: dict[str, str]) -> dict:
    """The mirror under out/mirror (served as the web root: /debian, /debian-security), its key trusted by
    `root`. Runs inside the root's chroot mounts, after the image's own packages are installed."""
    mirror, home = out / "mirror", out / "mirror-gnupg"
    for d in (mirror, home):
        shutil.rmtree(d, ignore_errors=True)
    try:
        public = make_key(home)
        (root / TRUSTED).write_text(public)
        os.chmod(root / TRUSTED, 0o644)
        names = baseline_packages()
        debs = []
        pool = mirror / "debian" / "pool" / "main"
        pool.mkdir(parents=True)
        for deb in download(root, names, env):
            # apt's cache writes an epoch's colon as %3a; the archive's pool names drop the epoch
            debs.append(pool / re.sub(r"_\d+%3a", "_", deb.name))
            shutil.copyfile(deb, debs[-1])
        for top, suites in SUITES.items():
            for suite in suites:
                index = packages_index(mirror / top, debs) if suite == "bookworm" else ""
                write_suite(mirror / top, suite, index, home)
    finally:  # the agent gpg started, and the private key with it
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
        shutil.rmtree(home, ignore_errors=True)
    return {"packages": names, "debs": len(debs), "bytes": sum(d.stat().st_size for d in debs)}
