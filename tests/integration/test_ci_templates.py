"""The CI pipelines for real: the GitLab template run by gitlab-ci-local's shell executor against the dev cloud,
and the GitHub workflows checked by actionlint (both from scripts/ci-tools).

A city's repository is made from this checkout's HEAD (the small town cut to four systems, planned, with a stack of
its own). A change that narrows nothing (a second administrators' range) passes every stage and deploys after the
manual approval; the smallest realistic bad change, the administrators' range widened to 0.0.0.0/0 (the bastion's
SSH opened to the world), passes validate, plan and preview and fails at the policy stage, with the rule in SARIF
at a repository-relative program line and in GitLab's code quality report. The pipeline holds the dev cloud's
shared lock while it runs; the stack is destroyed at the end. Missing tools are a failure naming the script, never
a skip.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cloudlogin import record_phase
from smalltown import tiny_town

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku"))
CLOUDS = CACHE / "dev-cloud" / "clouds.yaml"
LOCK = "/tmp/shuyaku-devcloud.lock"
INVENTORY = "examples/tiny-town/inventory.yaml"
ADMINS = "shuyaku:adminCidrs:\n    - 198.18.0.0/24\n"
JOBS = ["shuyaku:validate", "shuyaku:plan", "shuyaku:preview", "shuyaku:policy", "shuyaku:deploy"]


def tools() -> Path:
    proc = subprocess.run([str(ROOT / "scripts" / "ci-tools"), "--lang", "en"], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"scripts/ci-tools failed:\n{proc.stdout}{proc.stderr}", pytrace=False)
    return CACHE / "ci-tools" / "bin"


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-c", "user.name=ci-test", "-c", "user.email=ci-test@example.invalid", *args],
                          cwd=repo, capture_output=True, text=True, check=True)
    return proc.stdout


def locked() -> list[str]:
    """`flock LOCK` for a command that touches the dev cloud, unless an ancestor (`flock LOCK pytest ...`) holds it
    already (a second flock on the same file would wait for ever)."""
    try:
        inode = os.stat(LOCK).st_ino
        holders = {int(f[4]) for f in (line.split() for line in Path("/proc/locks").read_text().splitlines())
                   if len(f) > 5 and f[1] == "FLOCK" and f[5].endswith(f":{inode}")}
    except (OSError, ValueError):
        return ["flock", LOCK]
    pid = os.getpid()
    while pid > 1:
        if pid in holders:
            return []
        pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return ["flock", LOCK]


def record(phase: str, seconds: float) -> None:
    record_phase("ci", phase, seconds)


@dataclass
class City:
    repo: Path
    stack: str
    stack_file: Path
    env: dict[str, str]
    passphrase: str


@dataclass
class Run:
    rc: int
    output: str
    seconds: float  # the pipeline's own time as gitlab-ci-local reports it (not the wait for the lock)
    passed: set[str]
    failed: set[str]
    jobs: dict[str, float]


def _seconds(amount: str, unit: str) -> float:
    return float(amount) * {"ms": 0.001, "s": 1.0, "min": 60.0}[unit]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    if not (CACHE / "engine" / "bin" / "pulumi").exists():
        pytest.fail("the Pulumi engine is not built: run scripts/build-engine", pytrace=False)
    if not CLOUDS.exists():
        pytest.fail(f"{CLOUDS} missing: run scripts/dev-cloud up", pytrace=False)
    bin_dir = tools()
    work = tmp_path_factory.mktemp("ci")
    repo = work / "city"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    tiny_town(repo / "examples" / "tiny-town")  # the city: the small town cut to four systems, committed below
    stack = f"ci-{secrets.token_hex(3)}"
    subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "shuyaku.cli", "plan", INVENTORY, "--out",
                    str(work / "plan")], cwd=repo, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(repo)})
    platform = repo / "examples" / "tiny-town" / "platform"
    platform.mkdir(exist_ok=True)
    for name in ("site-onprem.json", "site-dr.json"):
        shutil.copyfile(work / "plan" / name, platform / name)
    # The dev cloud's stack config (kept as written, comments and all), for the town.
    text = (repo / "stacks" / "Pulumi.local.yaml").read_text(encoding="utf-8")
    text = text.replace("examples/sample-city/platform/", "examples/tiny-town/platform/")
    text = text.replace("examples/sample-city/inventory.yaml", INVENTORY)
    assert ADMINS in text and INVENTORY in text, text
    stack_file = repo / "stacks" / f"Pulumi.{stack}.yaml"
    stack_file.write_text(text, encoding="utf-8")
    git(repo, "add", "examples/tiny-town", str(stack_file))
    git(repo, "commit", "-q", "-m", "the town's platform stack")
    passphrase = secrets.token_urlsafe(24)
    # The CI's secret store: project variables that no job may print (checked below in every log and artefact).
    variables = {"PULUMI_CONFIG_PASSPHRASE": passphrase, "PULUMI_BACKEND_URL": f"file://{work / 'state'}",
                 "OS_CLIENT_CONFIG_FILE": str(CLOUDS), "OS_CLOUD": "dev-admin", "SHUYAKU_STACK": stack,
                 "SHUYAKU_INVENTORY": INVENTORY, "SHUYAKU_LANG": "en"}
    (work / "state").mkdir()
    # gitlab-ci-local reads project variables from this file in the checkout (kept out of git, as a store is).
    (repo / ".gitlab-ci-local-variables.yml").write_text(yaml.safe_dump(variables), encoding="utf-8")
    with (repo / ".git" / "info" / "exclude").open("a", encoding="utf-8") as ex:
        ex.write(".gitlab-ci-local-variables.yml\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "PULUMI_", "CI_", "GITHUB_"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["SHUYAKU_VENV"] = str(ROOT / ".venv")  # the shell runner's own environment: its ready Python venv
    yield City(repo, stack, stack_file, env, passphrase)
    destroy(repo, stack, work, passphrase)


def destroy(repo: Path, stack: str, work: Path, passphrase: str) -> None:
    script = (f"source scripts/engine-env && pulumi destroy --yes --non-interactive --stack {stack} "
              f"&& pulumi stack rm --yes --non-interactive --stack {stack}")
    env = {**os.environ, "PULUMI_BACKEND_URL": f"file://{work / 'state'}", "PULUMI_CONFIG_PASSPHRASE": passphrase,
           "PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER": "true", "OS_CLIENT_CONFIG_FILE": str(CLOUDS),
           "OS_CLOUD": "dev-admin", "PYTHONPATH": str(repo)}
    t0 = time.monotonic()
    proc = subprocess.run([*locked(), "bash", "-c", script], cwd=repo, env=env, capture_output=True, text=True)
    record("destroy the pipeline's stack (with any wait for the lock)", time.monotonic() - t0)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def pipeline(city: City, *extra: str) -> Run:
    """gitlab-ci-local with its shell executor, a fresh checkout per job, holding the dev cloud's lock."""
    shutil.rmtree(city.repo / ".gitlab-ci-local", ignore_errors=True)
    shutil.rmtree(city.repo / "out", ignore_errors=True)
    cmd = [*locked(), "gitlab-ci-local", "--shell-isolation", "--no-color", *extra]
    proc = subprocess.run(cmd, cwd=city.repo, env=city.env, capture_output=True, text=True, timeout=2400)
    out = proc.stdout + proc.stderr
    passed = set(re.findall(r"^\s*PASS\s+(\S+)", out, re.M))
    failed = set(re.findall(r"^\s*FAIL\s+(\S+)", out, re.M))
    total = re.search(r"pipeline finished in ([\d.]+) (ms|s|min)", out)
    jobs = {m[0]: _seconds(m[1], m[2]) for m in re.findall(r"^(\S+)\s+finished in ([\d.]+) (ms|s|min)", out, re.M)}
    for job, took in jobs.items():
        print(f"[ci]   {job}: {took:.1f} s")
    return Run(proc.returncode, out, _seconds(*total.groups()) if total else float("nan"), passed, failed, jobs)


def job_log(city: City, job: str) -> str:
    """A job's log as gitlab-ci-local keeps it (its file name spells ':' as 'Og')."""
    out = city.repo / ".gitlab-ci-local" / "output"
    return next(p for p in out.glob("*.log") if p.stem in (job, job.replace(":", "Og"))).read_text(encoding="utf-8")


def assert_no_secret(city: City) -> None:
    """The passphrase is in no job's log and no artefact (gitlab-ci-local keeps both under .gitlab-ci-local/)."""
    for base in (city.repo / ".gitlab-ci-local", city.repo / "out"):
        for f in base.rglob("*"):
            if f.is_file() and f.stat().st_size < 50_000_000 and "builds" not in f.relative_to(base).parts[:1]:
                assert city.passphrase.encode() not in f.read_bytes(), f"the passphrase leaked into {f}"


def sarif_results(city: City) -> list[dict[str, Any]]:
    doc = json.loads((city.repo / "out" / "ci" / "shuyaku-policy.sarif").read_text(encoding="utf-8"))
    return doc["runs"][0]["results"]


def test_a_change_that_opens_ssh_to_the_world_fails_at_the_policy_stage(city: City) -> None:
    git(city.repo, "checkout", "-q", "-b", "admin-from-anywhere")
    text = city.stack_file.read_text(encoding="utf-8")
    bad = text.replace(ADMINS, ADMINS.replace("198.18.0.0/24", "0.0.0.0/0"))  # one line of the stack config
    assert bad != text
    city.stack_file.write_text(bad, encoding="utf-8")
    git(city.repo, "commit", "-q", "-am", "let the administrators in from anywhere")
    try:
        run = pipeline(city)
    finally:
        git(city.repo, "checkout", "-q", "main")
    record("GitLab pipeline, bad change (fails at policy)", run.seconds)
    assert run.rc != 0, run.output[-4000:]
    assert {"shuyaku:validate", "shuyaku:plan", "shuyaku:preview"} <= run.passed, run.output[-6000:]
    assert run.failed == {"shuyaku:policy"}, run.output[-6000:]
    assert "shuyaku:deploy" not in run.output  # not on a branch, and never after a red policy stage
    log = job_log(city, "shuyaku:policy")
    assert "secgroup-no-public-ssh" in log and "0.0.0.0/0" in log  # the engine's pack and the audit both say it
    ssh = [r for r in sarif_results(city) if r["ruleId"] == "secgroup-no-public-ssh"]
    assert ssh, "no SSH finding in the SARIF report"
    phys = ssh[0]["locations"][0]["physicalLocation"]
    path, line = phys["artifactLocation"]["uri"], phys["region"]["startLine"]
    assert not path.startswith("/") and (city.repo / path).is_file(), path  # a file of the repository
    assert path.startswith("shuyaku/platform/") and line > 1, (path, line)  # the program's line that made it
    quality = json.loads((city.repo / "out" / "ci" / "gl-code-quality-report.json").read_text(encoding="utf-8"))
    mine = [q for q in quality if q["check_name"] == "secgroup-no-public-ssh"]
    assert mine and mine[0]["location"] == {"path": path, "lines": {"begin": line}}
    assert mine[0]["severity"] in ("critical", "blocker")
    assert_no_secret(city)


def test_a_good_change_passes_and_deploys_on_main_after_the_approval(city: City) -> None:
    text = city.stack_file.read_text(encoding="utf-8")
    good = text.replace(ADMINS, ADMINS + "    - 198.18.4.0/24\n")
    assert good != text, text
    city.stack_file.write_text(good, encoding="utf-8")
    git(city.repo, "commit", "-q", "-am", "a second administrators' range")
    waiting = pipeline(city)  # no approval given: everything before deploy passes, deploy waits
    record("GitLab pipeline, good change, before the approval", waiting.seconds)
    assert waiting.rc == 0 and waiting.passed == set(JOBS[:4]), waiting.output[-6000:]
    assert sarif_results(city) == []
    run = pipeline(city, "--manual", "shuyaku:deploy")  # the approval
    record("GitLab pipeline, good change, approved and deployed", run.seconds)
    assert run.rc == 0 and run.passed == set(JOBS), run.output[-6000:]
    outputs = json.loads((city.repo / "out" / "ci" / "outputs.json").read_text(encoding="utf-8"))
    site = json.loads((city.repo / "examples" / "tiny-town" / "platform" / "site-onprem.json").read_text())
    assert set(outputs["tenants"]) == {t["system_id"] for t in site["tenants"]}
    assert_no_secret(city)


def test_github_workflows_pass_actionlint_and_actionlint_catches_a_broken_one(tmp_path: Path) -> None:
    actionlint = tools() / "actionlint"
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert {w.name for w in workflows} >= {"shuyaku.yml", "shuyaku-vendor.yml"}
    proc = subprocess.run([str(actionlint), "-no-color", *map(str, workflows)], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text((ROOT / ".github" / "workflows" / "shuyaku.yml").read_text(encoding="utf-8")
                      .replace("needs: policy", "needs: polciy"), encoding="utf-8")
    proc = subprocess.run([str(actionlint), "-no-color", str(broken)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1 and "polciy" in proc.stdout, proc.stdout + proc.stderr


def test_secrets_come_from_the_secret_store_only() -> None:
    """Every secret the workflows hand the engine is `${{ secrets.* }}`; the GitLab templates name none."""
    for wf in (ROOT / ".github" / "workflows").glob("shuyaku*.yml"):
        text = wf.read_text(encoding="utf-8")
        for key in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_BACKEND_URL", "PGPASSWORD", "clouds-yaml"):
            values = re.findall(rf"^[ \t]*{key}:[ \t]*(\S.*)$", text, re.M)
            assert values and all(re.fullmatch(r"\$\{\{ secrets\.\w+ \}\}", v.strip()) for v in values), (wf, key)
    for tpl in (ROOT / "ci" / "gitlab").glob("*.yml"):
        doc = yaml.safe_load(tpl.read_text(encoding="utf-8"))
        assert not {"PULUMI_CONFIG_PASSPHRASE", "PULUMI_BACKEND_URL", "OS_CLIENT_CONFIG_FILE"} & set(
            doc.get("variables") or {}), tpl
