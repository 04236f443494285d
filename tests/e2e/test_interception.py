"""Interception: tools that cannot change their API endpoint reach the bridge as an HTTPS proxy (or
through WireGuard / the local redirector). Calls to the configured API hosts are answered through the
bridge's configuration; every other host is tunnelled untouched. The official SDKs run in their own
process with nothing but HTTPS_PROXY and the bridge's CA file (SSL_CERT_FILE): their base URL stays."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from typing import Iterator

import httpx
import pytest

from addons.endpoints import intercepted_path
from scripts.interception import CERTS
from scripts.interception import interception_args
from tests.e2e.conftest import bridge_config
from tests.e2e.wireguard_peer import Peer
from tests.e2e.wireguard_peer import http_over_tunnel
from tests.e2e.wireguard_peer import udp_packet
from tests.e2e.wireguard_peer import udp_payload
from tests.harness import CLIENT_KEY
from tests.harness import ROOT
from tests.harness import UPSTREAM_KEY
from tests.harness import BridgeProcess
from tests.harness import free_port

DEFAULT_HOSTS = ["api.openai.com", "api.anthropic.com", "api.githubcopilot.com", "generativelanguage.googleapis.com"]
REAL_OPENAI_KEY = "sk-proj-RealOpenAIKeyOfTheTool0123456789abcdef"


@pytest.fixture(scope="module")
def confdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("confdir") / "certs"


@pytest.fixture(scope="module")
def first_ca(confdir: Path) -> dict[str, bool]:
    """Whether the CA existed before the module's first bridge started (it must not)."""
    return {"existed": (confdir / "mitmproxy-ca.pem").exists()}


@pytest.fixture(scope="module")
def proxy(upstreams: Any, confdir: Path, first_ca: dict[str, bool],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[BridgeProcess]:
    """The bridge as a regular (forward) proxy with the default intercept_hosts."""
    cfg = bridge_config(upstreams)
    proc = BridgeProcess(cfg, tmp_path_factory.mktemp("intercept"), "--mode", "regular",
                         "--set", f"confdir={confdir}")
    yield proc
    proc.stop()


def tool_env(proxy: BridgeProcess, ca_file: Path) -> dict[str, str]:
    """A tool's environment: the proxy and the CA, and nothing that could point the SDK elsewhere."""
    drop = {"http_proxy", "https_proxy", "all_proxy", "no_proxy", "ssl_cert_file", "ssl_cert_dir",
            "requests_ca_bundle", "openai_base_url", "anthropic_base_url", "openai_api_key", "anthropic_api_key"}
    env = {k: v for k, v in os.environ.items() if k.lower() not in drop}
    env.update({"HTTPS_PROXY": proxy.url, "SSL_CERT_FILE": str(ca_file), "PYTHONPATH": ""})
    return env


def run_tool(proxy: BridgeProcess, ca_file: Path, code: str, **env: str) -> dict[str, Any]:
    """Runs `code` (which prints one JSON line) as a separate Python process, as a tool would run."""
    done = subprocess.run([sys.executable, "-c", code], env={**tool_env(proxy, ca_file), **env}, cwd="/",
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


OPENAI_CHAT = """
import json, openai
c = openai.OpenAI(max_retries=0)
r = c.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "Say ACC-PROXY1"}])
print(json.dumps({"base_url": str(c.base_url), "content": r.choices[0].message.content}))
"""

OPENAI_STREAM = """
import json, openai
c = openai.OpenAI(max_retries=0)
s = c.chat.completions.create(model="gpt-4.1", stream=True,
                              messages=[{"role": "user", "content": "Say ACC-PROXY2"}])
parts = [ch.choices[0].delta.content or "" for ch in s if ch.choices]
print(json.dumps({"base_url": str(c.base_url), "content": "".join(parts), "chunks": len(parts)}))
"""

ANTHROPIC_MESSAGES = """
import json, anthropic
c = anthropic.Anthropic(max_retries=0)
r = c.messages.create(model="anthropic/claude-sonnet-4-5", max_tokens=64,
                      messages=[{"role": "user", "content": "Say ACC-PROXY3"}])
print(json.dumps({"base_url": str(c.base_url), "content": r.content[0].text, "id": r.id}))
"""

OPENAI_OTHER_BASE = """
import json, os, openai
c = openai.OpenAI(base_url=os.environ["TOOL_BASE_URL"], max_retries=0)
r = c.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": os.environ["TOOL_PROMPT"]}])
print(json.dumps({"base_url": str(c.base_url), "content": r.choices[0].message.content}))
"""

OPENAI_OWN_KEY = """
import json, openai
c = openai.OpenAI(max_retries=0)
try:
    c.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "Say ACC-PROXY6"}])
    print(json.dumps({"status": 200}))
except openai.APIStatusError as e:
    print(json.dumps({"status": e.status_code, "body": e.body}))
"""


def ca_file(confdir: Path) -> Path:
    return confdir / "mitmproxy-ca-cert.pem"


def emulator_requests(port: int) -> list[dict[str, Any]]:
    return httpx.get(f"http://127.0.0.1:{port}/_emulator/requests", timeout=10).json()["requests"]


def test_ca_created_in_confdir_on_first_run_private_key_owner_only(proxy: BridgeProcess, confdir: Path,
                                                                   first_ca: dict[str, bool]) -> None:
    assert not first_ca["existed"]
    assert ca_file(confdir).read_text().startswith("-----BEGIN CERTIFICATE-----")
    for secret in ("mitmproxy-ca.pem", "mitmproxy-ca.p12"):  # the CA's private key
        assert (confdir / secret).stat().st_mode & 0o777 == 0o600, secret


def test_openai_sdk_chat_via_https_proxy(proxy: BridgeProcess, confdir: Path) -> None:
    out = run_tool(proxy, ca_file(confdir), OPENAI_CHAT, OPENAI_API_KEY=CLIENT_KEY)
    assert out == {"base_url": "https://api.openai.com/v1/", "content": "ACK ACC-PROXY1"}


def test_openai_sdk_stream_via_https_proxy(proxy: BridgeProcess, confdir: Path) -> None:
    out = run_tool(proxy, ca_file(confdir), OPENAI_STREAM, OPENAI_API_KEY=CLIENT_KEY)
    assert out["base_url"] == "https://api.openai.com/v1/"
    assert out["content"] == "ACK ACC-PROXY2" and out["chunks"] > 1


def test_anthropic_sdk_messages_via_https_proxy(proxy: BridgeProcess, confdir: Path, upstreams: Any) -> None:
    out = run_tool(proxy, ca_file(confdir), ANTHROPIC_MESSAGES, ANTHROPIC_API_KEY=CLIENT_KEY)
    assert out["base_url"] == "https://api.anthropic.com" and out["content"] == "ACK ACC-PROXY3"
    seen = [r for r in emulator_requests(upstreams["anthropic"]) if "ACC-PROXY3" in json.dumps(r["body"])]
    assert seen and seen[-1]["headers"].get("x-api-key") == UPSTREAM_KEY  # the bridge's account, not the tool's


def test_copilot_paths_without_v1_reach_the_chat_endpoint(proxy: BridgeProcess, confdir: Path) -> None:
    """Copilot clients call https://api.githubcopilot.com/chat/completions (no /v1)."""
    out = run_tool(proxy, ca_file(confdir), OPENAI_OTHER_BASE, OPENAI_API_KEY=CLIENT_KEY,
                   TOOL_BASE_URL="https://api.githubcopilot.com", TOOL_PROMPT="Say ACC-PROXY4")
    assert out == {"base_url": "https://api.githubcopilot.com", "content": "ACK ACC-PROXY4"}


def test_gemini_openai_compatible_path_reaches_the_chat_endpoint(proxy: BridgeProcess, confdir: Path) -> None:
    out = run_tool(proxy, ca_file(confdir), OPENAI_OTHER_BASE, OPENAI_API_KEY=CLIENT_KEY,
                   TOOL_BASE_URL="https://generativelanguage.googleapis.com/v1beta/openai/",
                   TOOL_PROMPT="Say ACC-PROXY5")
    assert out["content"] == "ACK ACC-PROXY5"


def test_gemini_native_api_gets_a_clear_error(proxy: BridgeProcess, confdir: Path) -> None:
    with httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(ca_file(confdir))),
                      timeout=30) as c:
        r = c.post("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
                   headers={"x-goog-api-key": CLIENT_KEY}, json={"contents": [{"parts": [{"text": "hi"}]}]})
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
    message = r.json()["error"]["message"]
    assert "Gemini's native API" in message and "/v1beta/openai/chat/completions" in message


def test_tools_own_provider_key_is_refused_and_never_forwarded(proxy: BridgeProcess, confdir: Path,
                                                               upstreams: Any) -> None:
    """A tool configured with its real OpenAI key: the bridge answers 401 in OpenAI's dialect, and the
    key reaches no upstream and no log (the tool must be given the bridge's client key instead)."""
    out = run_tool(proxy, ca_file(confdir), OPENAI_OWN_KEY, OPENAI_API_KEY=REAL_OPENAI_KEY)
    assert out["status"] == 401 and "Invalid API key" in out["body"]["message"]
    for name in ("openai-chat", "anthropic", "openai-responses"):
        assert REAL_OPENAI_KEY not in json.dumps(emulator_requests(upstreams[name]))
    assert REAL_OPENAI_KEY not in proxy.output()


def test_plain_http_to_an_api_host_is_taken_over(proxy: BridgeProcess) -> None:
    with httpx.Client(proxy=proxy.url, timeout=30) as c:
        r = c.post("http://api.openai.com/v1/chat/completions", headers={"authorization": f"Bearer {CLIENT_KEY}"},
                   json={"model": "gpt-4.1", "messages": [{"role": "user", "content": "Say ACC-INTER1"}]})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "ACK ACC-INTER1"


def test_other_plain_http_hosts_pass_untouched(proxy: BridgeProcess, upstreams: Any) -> None:
    """A request to a host that is not an intercepted API reaches it as sent (no bridge 401/404)."""
    with httpx.Client(proxy=proxy.url, timeout=30) as c:
        r = c.get(f"http://127.0.0.1:{upstreams['openai-chat']}/_emulator/health")
    assert r.status_code == 200 and r.json()["ok"] is True


@pytest.fixture(scope="module")
def own_https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """An HTTPS server on 127.0.0.1 with its own self-signed certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "own-server")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    d = tmp_path_factory.mktemp("own-https")
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = b"the server's own answer"
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / "cert.pem", d / "key.pem")
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], d / "cert.pem"
    server.shutdown()
    server.server_close()
    thread.join(10)


def test_other_https_hosts_are_tunnelled_not_decrypted(proxy: BridgeProcess,
                                                       own_https_server: tuple[int, Path]) -> None:
    """The client trusts only the server's own certificate: this works only if the bridge tunnels the
    TLS connection as it is (a decrypting proxy would present a certificate from the bridge's CA)."""
    port, cert = own_https_server
    with httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(cert)), timeout=30) as c:
        r = c.get(f"https://127.0.0.1:{port}/anything")
    assert r.status_code == 200 and r.text == "the server's own answer"


def test_ca_is_reused_on_the_next_run(upstreams: Any, proxy: BridgeProcess, confdir: Path,
                                      tmp_path_factory: pytest.TempPathFactory) -> None:
    before = {p.name: p.read_bytes() for p in confdir.iterdir()}
    again = BridgeProcess(bridge_config(upstreams), tmp_path_factory.mktemp("intercept-again"), "--mode", "regular",
                          "--set", f"confdir={confdir}")
    try:
        out = run_tool(again, ca_file(confdir), OPENAI_CHAT, OPENAI_API_KEY=CLIENT_KEY)
    finally:
        again.stop()
    assert out["content"] == "ACK ACC-PROXY1"
    assert {p.name: p.read_bytes() for p in confdir.iterdir()} == before


@pytest.mark.parametrize("host,path,expected", [
    ("api.githubcopilot.com", "/chat/completions", "/v1/chat/completions"),
    ("api.githubcopilot.com", "/embeddings?x=1", "/v1/embeddings?x=1"),
    ("api.githubcopilot.com", "/v1/messages", "/v1/messages"),
    ("generativelanguage.googleapis.com", "/v1beta/openai/chat/completions", "/v1/chat/completions"),
    ("generativelanguage.googleapis.com", "/v1beta/openai/models", "/v1/models"),
    ("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-flash:generateContent",
     "/v1beta/models/gemini-2.5-flash:generateContent"),
    ("api.openai.com", "/v1/responses", "/v1/responses"),
    ("api.anthropic.com", "/v1/messages?beta=true", "/v1/messages?beta=true"),
])
def test_intercepted_paths_as_the_reverse_endpoint_knows_them(host: str, path: str, expected: str) -> None:
    assert intercepted_path(host, path) == expected


def test_launch_defaults_for_intercepting_modes() -> None:
    """Interception modes get the project's certs/ as confdir (unless set) and TLS decrypted only for
    the API hosts; reverse mode gets neither; beside a reverse mode no host filter (it would tunnel the
    reverse mode's own connections past the bridge)."""
    regex = r"^(api\.openai\.com|api\.anthropic\.com|api\.githubcopilot\.com|generativelanguage\.googleapis\.com):\d+$"
    assert interception_args(["--mode", "regular"], DEFAULT_HOSTS) == [
        "--set", f"confdir={CERTS}", "--allow-hosts", regex]
    assert CERTS == ROOT / "certs"
    assert interception_args(["--mode=local:claude", "--set", "confdir=/x"], ["a.b"]) == [
        "--allow-hosts", r"^(a\.b):\d+$"]
    assert interception_args(["-p", "1"], DEFAULT_HOSTS) == []
    assert interception_args(["--mode", "reverse:http://127.0.0.1:1"], DEFAULT_HOSTS) == []
    assert interception_args(["--mode", "regular", "--mode", "reverse:http://127.0.0.1:1"], ["a.b"]) == [
        "--set", f"confdir={CERTS}"]
    assert interception_args(["-m", "transparent", "--allow-hosts", "x"], ["a.b"]) == ["--set", f"confdir={CERTS}"]
    assert interception_args(["--mode", "no-such-mode"], ["a.b"]) == []  # left to mitmdump to refuse


def test_launch_in_wireguard_mode_makes_owner_only_keys_and_loads_the_client_conf_addon(tmp_path: Path) -> None:
    args = ["--mode", "wireguard@51999", "--set", f"confdir={tmp_path}"]
    assert interception_args(args, ["a.b"]) == [
        "--allow-hosts", r"^(a\.b):\d+$", "-s", str(ROOT / "addons" / "wireguard_client.py")]
    assert (tmp_path / "wireguard.conf").stat().st_mode & 0o777 == 0o600
    keys = (tmp_path / "wireguard.conf").read_text()
    assert interception_args(args, ["a.b"]) == interception_args(args, ["a.b"])
    assert (tmp_path / "wireguard.conf").read_text() == keys  # made once, then kept
    with pytest.raises(SystemExit, match="WireGuard mode runs without --lean"):  # it would log the client key
        interception_args(args, ["a.b"], scripts=False)


# ---------------------------------------------------------------- WireGuard and local modes


def udp_port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def wait_for(proc: BridgeProcess, text: str) -> str:
    """The bridge's log once it contains `text` (bounded; mitmproxy logs it right after the start)."""
    for _ in range(300):
        out = proc.output()
        if text in out or proc.proc.poll() is not None:
            return out
        time.sleep(0.1)
    return proc.output()


@pytest.fixture(scope="module")
def wireguard(upstreams: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BridgeProcess, Path, int]]:
    """The bridge in regular and WireGuard mode (UDP port of its own), confdir in a temp dir."""
    confdir = tmp_path_factory.mktemp("wg") / "certs"
    udp = free_port()
    proc = BridgeProcess(bridge_config(upstreams), tmp_path_factory.mktemp("wg-run"), "--mode", "regular",
                         "--mode", f"wireguard@{udp}", "--set", f"confdir={confdir}")
    wait_for(proc, "WireGuard client configuration:")
    yield proc, confdir, udp
    proc.stop()


def test_wireguard_mode_listens_and_writes_the_client_configuration(
        wireguard: tuple[BridgeProcess, Path, int]) -> None:
    import mitmproxy_rs

    proc, confdir, udp = wireguard
    out = proc.output()
    assert proc.proc.poll() is None, out
    keys = json.loads((confdir / "wireguard.conf").read_text())
    assert (confdir / "wireguard.conf").stat().st_mode & 0o777 == 0o600  # private keys
    client = confdir / f"wireguard-client-{udp}.conf"
    assert client.stat().st_mode & 0o777 == 0o600
    conf = client.read_text()
    assert conf.startswith("[Interface]") and f"PrivateKey = {keys['client_key']}\n" in conf
    assert f"PublicKey = {mitmproxy_rs.wireguard.pubkey(keys['server_key'])}\n" in conf
    assert f"Endpoint = 127.0.0.1:{udp}" in conf
    assert f"WireGuard client configuration: {client}" in out
    assert keys["client_key"] not in out and f"PrivateKey = {keys['client_key'][:4]}***(len=" in out
    assert keys["server_key"] not in out
    assert udp_port_taken(udp)
    assert (confdir / "mitmproxy-ca-cert.pem").exists()


def conf_value(conf: str, name: str) -> str:
    return next(line.split(" = ", 1)[1] for line in conf.splitlines() if line.startswith(f"{name} = "))


def test_wireguard_peer_with_the_written_configuration_reaches_the_bridge(
        wireguard: tuple[BridgeProcess, Path, int]) -> None:
    """A WireGuard peer (tests/e2e/wireguard_peer.py) using the written client configuration: the
    handshake completes, DNS in the tunnel is answered, and a call to api.openai.com (any address:
    the tunnel carries it to the bridge) is answered through the bridge's configuration."""
    _, confdir, udp = wireguard
    conf = (confdir / f"wireguard-client-{udp}.conf").read_text()
    peer = Peer(conf_value(conf, "PrivateKey"), conf_value(conf, "PublicKey"), ("127.0.0.1", udp))
    try:
        peer.handshake()
        query = struct.pack("!6H", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x09localhost\x00" + struct.pack("!HH", 1, 1)
        peer.send(udp_packet(conf_value(conf, "Address").split("/")[0], "10.0.0.53", 40000, 53, query))
        answer = udp_payload(peer.receive())
        assert answer[:2] == b"\x12\x34" and answer.endswith(socket.inet_aton("127.0.0.1"))
        body = json.dumps({"model": "gpt-4.1", "messages": [{"role": "user", "content": "Say ACC-WGTUN1"}]}).encode()
        request = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nConnection: close\r\n"
                   b"Authorization: Bearer " + CLIENT_KEY.encode() + b"\r\nContent-Type: application/json\r\n"
                   b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        head, _, payload = http_over_tunnel(peer, "198.51.100.7", request).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert json.loads(payload)["choices"][0]["message"]["content"] == "ACK ACC-WGTUN1"
    finally:
        peer.close()


def test_local_mode_starts_or_documents_why_not(tmp_path_factory: pytest.TempPathFactory, upstreams: Any) -> None:
    """Local mode redirects one program's traffic with eBPF (mitmproxy-rs): it needs root through sudo
    and a kernel that lets cgroup programs attach. Skips with the reason mitmproxy gives when it cannot."""
    work = tmp_path_factory.mktemp("local")
    (work / "config.yaml").write_text(json.dumps(bridge_config(upstreams)))
    log = work / "bridge.log"
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "launch.py"), "--config", str(work / "config.yaml"),
                             "--mode", "local:no-such-program-here", "--set", f"confdir={work / 'certs'}",
                             "-p", str(free_port())], cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        try:
            proc.wait(20)  # a failed start exits by itself; a working redirector keeps running
        except subprocess.TimeoutExpired:
            pass
        out = log.read_text(errors="replace")
        if proc.returncode is not None:
            reasons = [line.split("] ", 1)[-1].strip() for line in out.splitlines()
                       if any(k in line for k in ("sudo", "eBPF", "failed", "Failed", "not running as root"))]
            pytest.skip("local mode cannot run here: " + " / ".join(dict.fromkeys(reasons)) or out[-500:])
        assert "Local redirector started" in out and "Error" not in out
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)


def test_open_forward_proxy_is_still_refused(upstreams: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    work = tmp_path_factory.mktemp("open")
    (work / "config.yaml").write_text(json.dumps(bridge_config(upstreams)))
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "launch.py"), "--config", str(work / "config.yaml"),
                           "--mode", "regular", "--listen-host", "0.0.0.0", "-p", str(free_port()),
                           "--set", f"confdir={work / 'certs'}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert "refusing to run an open proxy" in done.stdout + done.stderr
