"""Browser access (roles/vdi_web): noVNC served by websockify over TLS only, on one address."""

from __future__ import annotations

import base64
import os
import socket
import ssl

import pytest
from vdi_env import VdiEnv, get_env, s_client

pytestmark = pytest.mark.hosts
PORT = 6080


@pytest.fixture(scope="module")
def env(request) -> VdiEnv:
    e = get_env(request.config)
    if not e.groups.get("vdi_web"):
        pytest.skip(f"inventory {e.inventory} has no vdi_web group: nothing to verify here")
    return e


@pytest.fixture(scope="module")
def web(env):
    return env.host("vdi_web")


def _https(env, request: bytes) -> bytes:
    ctx = ssl.create_default_context(cafile=env.creds["web_cert"])
    addr = env.addr("vdi_web")
    with socket.create_connection((addr, PORT), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname=env.groups["vdi_web"][0][0]) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data and (b"101 Switching" in data[:40] or len(data) > 200_000):
                break
        return data


def test_websockify_service_runs_unprivileged(web):
    svc = web.service("shuyaku-novnc")
    assert svc.is_running and svc.is_enabled
    user = web.run("ps -o user= -C websockify").stdout.split()
    assert user and set(user) == {"shuyaku-novnc"}, user


def test_listens_only_on_the_configured_address(env, web):
    lines = web.run(f"ss -Hltn 'sport = :{PORT}'").stdout.splitlines()
    assert lines, "nothing listens on the noVNC port"
    locals_ = {line.split()[3] for line in lines}
    assert locals_ == {f"{env.addr('vdi_web')}:{PORT}"}, locals_


def test_novnc_page_over_tls_with_the_configured_certificate(env):
    resp = _https(env, b"GET /vnc.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = resp.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0], head[:200]
    assert b"<title>noVNC</title>" in body


def test_websocket_upgrade_over_tls(env):
    key = base64.b64encode(os.urandom(16))
    token = env.extravars["vdi_web_targets"][0]["token"].encode()
    req = (b"GET /websockify?token=" + token + b" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n"
           b"Sec-WebSocket-Protocol: binary\r\n\r\n")
    resp = _https(env, req)
    assert resp.startswith(b"HTTP/1.1 101"), resp[:200]


def test_plain_http_gets_nothing(env):
    with socket.create_connection((env.addr("vdi_web"), PORT), timeout=10) as s:
        s.sendall(b"GET /vnc.html HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            data = s.recv(4096)
        except (ConnectionResetError, TimeoutError):
            data = b""
    assert b"noVNC" not in data and not data.startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("version", ["-tls1_1", "-tls1"])
def test_old_tls_refused(env, version):
    out = s_client(PORT, version, "-cipher", "DEFAULT:@SECLEVEL=0", host=env.addr("vdi_web"))
    assert "Cipher is (NONE)" in out or "Cipher    : 0000" in out, out
    assert "BEGIN CERTIFICATE" not in out


def test_tls_certificate_verifies(env):
    out = s_client(PORT, "-CAfile", env.creds["web_cert"], "-verify_return_error",
                   "-verify_ip", env.addr("vdi_web"), host=env.addr("vdi_web"))
    assert "Verify return code: 0 (ok)" in out, out


def test_browser_reaches_only_listed_desktops(env, web):
    targets = web.file("/etc/shuyaku-novnc/targets")
    assert targets.mode & 0o007 == 0
    lines = [line for line in targets.content_string.splitlines() if line and not line.startswith("#")]
    expected = {f"{t['token']}: {t['host']}:{t.get('port', 5900)}" for t in env.extravars["vdi_web_targets"]}
    assert set(lines) == expected
