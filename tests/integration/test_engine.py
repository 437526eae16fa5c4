"""The Pulumi engine that scripts/build-engine builds really runs shuyaku's kind of programs.

Each test drives the real `pulumi` CLI, the project's Python language host and the OpenStack provider plugin
against a local file backend in a temporary directory. Nothing here reaches the network. When the engine has
not been built, every test fails (never skips) and says how to build it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ENGINE = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku")) / "engine"
BIN = ENGINE / "bin"
VENV = Path(sys.prefix)
CLI_VERSION = "v3.274.1"


def _sdk_plugin_version() -> str:
    # find_spec locates the package without importing it (an import would load ~200 modules).
    spec = importlib.util.find_spec("pulumi_openstack")
    assert spec is not None and spec.submodule_search_locations, "pulumi_openstack is not installed in the venv"
    meta = Path(spec.submodule_search_locations[0]) / "pulumi-plugin.json"
    return json.loads(meta.read_text())["version"]


@pytest.fixture(scope="module")
def engine_env() -> dict[str, str]:
    missing = [
        name
        for name in (
            "pulumi",
            "pulumi-language-python",
            "pulumi-language-python-exec",
            "pulumi-resource-openstack",
        )
        if not (BIN / name).exists()
    ]
    if missing:
        pytest.fail(
            f"the Pulumi engine is not built ({', '.join(missing)} missing in {BIN}); run scripts/build-engine first",
            pytrace=False,
        )
    env = dict(os.environ)
    env.update(
        PATH=f"{BIN}{os.pathsep}{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        PULUMI_HOME=str(ENGINE / "pulumi-home"),
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        PULUMI_IGNORE_AMBIENT_PLUGINS="true",
        PULUMI_CONFIG_PASSPHRASE="engine-test-passphrase",
    )
    # Stray settings from a developer's shell would point the CLI at another backend or stack.
    for var in ("PULUMI_ACCESS_TOKEN", "PULUMI_STACK", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        env.pop(var, None)
    # The OpenStack provider takes OS_CLOUD's clouds.yaml entry over the auth_url a program sets: with the dev
    # cloud's settings in the environment (scripts/test exports them) the dummy provider below reached the real
    # Keystone and created a project. These tests use no cloud.
    for var in [v for v in env if v.startswith("OS_")]:
        env.pop(var)
    return env


def run(
    args: list[str], cwd: Path, env: dict[str, str], check: bool = True, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}",
            pytrace=False,
        )
    return proc


def make_project(tmp: Path, name: str, program: str, env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """A Python Pulumi project using the project venv, with its own file backend; returns (dir, env)."""
    proj = tmp / name
    proj.mkdir()
    (proj / "Pulumi.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: {name}
            runtime:
              name: python
              options:
                toolchain: pip
                virtualenv: {VENV}
            """
        )
    )
    (proj / "__main__.py").write_text(textwrap.dedent(program))
    state = tmp / f"{name}-state"
    state.mkdir()
    penv = dict(env, PULUMI_BACKEND_URL=f"file://{state}")
    return proj, penv


def write_policy_pack(tmp: Path) -> Path:
    pack = tmp / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text(
        textwrap.dedent(
            f"""\
            description: engine test pack
            runtime:
              name: python
              options:
                toolchain: pip
                virtualenv: {VENV}
            """
        )
    )
    (pack / "__main__.py").write_text(
        textwrap.dedent(
            """\
            from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy


            def _no_open_admin(args, report_violation):
                if args.resource_type == "openstack:identity/project:Project" and args.props.get(
                    "name", ""
                ).startswith("forbidden"):
                    report_violation("projects named forbidden-* are not allowed")


            PolicyPack(
                name="engine-test-pack",
                enforcement_level=EnforcementLevel.MANDATORY,
                policies=[
                    ResourceValidationPolicy(
                        name="no-forbidden-project",
                        description="Refuses OpenStack projects whose name starts with 'forbidden'.",
                        validate=_no_open_admin,
                    )
                ],
            )
            """
        )
    )
    return pack


# A program that needs no cloud: a component, a stack output and a secret from config.
COMPONENT_PROGRAM = """\
    import pulumi


    class Box(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("shuyaku:test:Box", name, None, opts)
            self.register_outputs({})


    cfg = pulumi.Config()
    Box("box")
    pulumi.export("greeting", "hello from shuyaku")
    pulumi.export("token_length", cfg.require_secret("token").apply(len))
    """

# An explicit OpenStack provider aimed at a port where nothing listens, and a project that uses it.
OPENSTACK_PROGRAM = """\
    import pulumi
    import pulumi_openstack as openstack

    cfg = pulumi.Config()
    provider = openstack.Provider(
        "dummy",
        auth_url="http://127.0.0.1:1/",
        user_name="nobody",
        password=cfg.require_secret("password"),
        tenant_name="nowhere",
        region="RegionOne",
    )
    openstack.identity.Project(
        "tenant",
        name=cfg.get("project_name") or "shuyaku-engine-test",
        opts=pulumi.ResourceOptions(provider=provider),
    )
    """


def test_versions_are_stamped(engine_env, tmp_path):
    cli = run(["pulumi", "version"], tmp_path, engine_env)
    assert cli.stdout.strip() == CLI_VERSION
    host = run([str(BIN / "pulumi-language-python"), "-version"], tmp_path, engine_env)
    assert host.stdout.strip() == CLI_VERSION
    provider = run([str(BIN / "pulumi-resource-openstack"), "-version"], tmp_path, engine_env)
    assert provider.stdout.strip() == _sdk_plugin_version() == "5.5.3"
    plugins = run(["pulumi", "plugin", "ls", "--json"], tmp_path, engine_env)
    installed = {(p["name"], p["kind"], p["version"]) for p in json.loads(plugins.stdout)}
    assert ("openstack", "resource", "5.5.3") in installed


def test_python_program_deploys_and_second_up_changes_nothing(engine_env, tmp_path):
    proj, env = make_project(tmp_path, "engine-smoke", COMPONENT_PROGRAM, engine_env)
    run(["pulumi", "stack", "init", "dev"], proj, env)
    run(["pulumi", "config", "set", "--secret", "token", "s3cr3t-value"], proj, env)
    stack_file = (proj / "Pulumi.dev.yaml").read_text()
    assert "secure:" in stack_file and "s3cr3t-value" not in stack_file

    up = run(["pulumi", "up", "--yes", "--non-interactive", "--skip-preview"], proj, env)
    assert "2 created" in up.stdout, up.stdout
    outputs = json.loads(run(["pulumi", "stack", "output", "--json"], proj, env).stdout)
    assert outputs["greeting"] == "hello from shuyaku"
    assert outputs["token_length"] == "[secret]"
    shown = json.loads(run(["pulumi", "stack", "output", "--json", "--show-secrets"], proj, env).stdout)
    assert shown["token_length"] == len("s3cr3t-value")
    state = run(["pulumi", "stack", "export"], proj, env).stdout
    assert "s3cr3t-value" not in state

    again = run(["pulumi", "up", "--yes", "--non-interactive", "--expect-no-changes"], proj, env)
    assert "2 unchanged" in again.stdout, again.stdout
    assert " created" not in again.stdout


def test_policy_pack_blocks_a_violation_and_passes_a_clean_program(engine_env, tmp_path):
    pack = write_policy_pack(tmp_path)
    proj, env = make_project(tmp_path, "engine-policy", OPENSTACK_PROGRAM, engine_env)
    run(["pulumi", "stack", "init", "dev"], proj, env)
    run(["pulumi", "config", "set", "--secret", "password", "not-a-real-password"], proj, env)

    run(["pulumi", "config", "set", "project_name", "forbidden-admin"], proj, env)
    bad = run(["pulumi", "preview", "--non-interactive", "--policy-pack", str(pack)], proj, env, check=False)
    text = bad.stdout + bad.stderr
    assert bad.returncode != 0, text
    assert "no-forbidden-project" in text, text
    assert "mandatory" in text, text

    run(["pulumi", "config", "set", "project_name", "shuyaku-ok"], proj, env)
    good = run(["pulumi", "preview", "--non-interactive", "--policy-pack", str(pack)], proj, env)
    assert "engine-test-pack" in good.stdout, good.stdout
    assert "no-forbidden-project" not in good.stdout


def test_openstack_provider_plugin_loads_and_reaches_for_its_endpoint(engine_env, tmp_path):
    proj, env = make_project(tmp_path, "engine-openstack", OPENSTACK_PROGRAM, engine_env)
    run(["pulumi", "stack", "init", "dev"], proj, env)
    run(["pulumi", "config", "set", "--secret", "password", "not-a-real-password"], proj, env)

    # Preview goes through the provider (Configure, Check, Diff) without calling the API.
    preview = run(["pulumi", "preview", "--non-interactive", "--diff"], proj, env)
    assert "pulumi:providers:openstack" in preview.stdout, preview.stdout
    assert "openstack:identity/project:Project" in preview.stdout, preview.stdout
    assert "shuyaku-engine-test" in preview.stdout, preview.stdout

    # An update makes the provider talk to Keystone at the dummy URL, where nothing listens.
    up = run(["pulumi", "up", "--yes", "--non-interactive", "--skip-preview"], proj, env, check=False)
    text = up.stdout + up.stderr
    assert up.returncode != 0, text
    assert 'Error creating OpenStack identity client: Get "http://127.0.0.1:1/"' in text, text
    assert "connection refused" in text, text
    # The failure is reported as the provider's error, not buried under a Python traceback.
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
