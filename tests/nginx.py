"""The documented nginx configuration (deploy/nginx), as the tests run it: the very files, pointed
at the test's PKI, listening port and upstream gateways, with a scratch directory for nginx's own
files (pid, temporary bodies)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.server import free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "nginx"
SERVER_BLOCK = "/etc/nginx/gateway.conf"


def nginx_config(main: str, directory: Path, pki: Path, listen: int, upstreams: dict[str, str], public_listen: int | None = None) -> Path:
    """Write the test's nginx.conf into `directory` and return its path. `main` is one of the
    deploy/nginx files that include gateway.conf and public.conf: an http-level file (one-host.conf),
    wrapped in a main context here, or a whole nginx.conf (compose.conf). `upstreams` maps each
    upstream server the file names to the address the test has for it; public.conf listens on
    `public_listen` (a free port if not given)."""
    text = main
    for name, default, port in (("gateway.conf", "listen 443 ssl;", listen), ("public.conf", "listen 8444 ssl;", public_listen or free_port())):
        server_block = directory / name
        server_block.write_text(
            (DEPLOY / name).read_text().replace(default, f"listen 127.0.0.1:{port} ssl;").replace("/etc/gateway/pki", str(pki))
        )
        text = text.replace(f"include /etc/nginx/{name};", f"include {server_block};")
    for named, actual in upstreams.items():
        assert f"server {named}" in text, named
        text = text.replace(f"server {named}", f"server {actual}")
    if "events {" not in text:
        text = f"events {{}}\nhttp {{\n    access_log off;\n{text}\n}}\n"
    temp = "".join(f"\n    {name}_temp_path {directory / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    text = text.replace("http {", "http {" + temp, 1)
    config = directory / "nginx.conf"
    config.write_text(f"daemon off;\nuser root;\npid {directory / 'nginx.pid'};\n{text}")
    return config


def nginx_command(config: Path, *options: str) -> list[str]:
    return [NGINX, "-c", str(config), "-e", str(config.parent / "error.log"), *options]


@contextmanager
def running_nginx(config: Path, listen: int) -> Iterator[str]:
    """nginx on `config` until the block ends, once it accepts connections on `listen`; its base URL."""
    nginx = subprocess.Popen(nginx_command(config), stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{listen}"], capture_output=True).returncode:
            assert nginx.poll() is None, nginx.stderr.read().decode()
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.05)
        yield f"https://127.0.0.1:{listen}"
    finally:
        nginx.terminate()
        nginx.wait(10)


def nginx_test(config: Path) -> subprocess.CompletedProcess:
    """`nginx -t` on the file: its syntax, every directive, the certificates and keys it loads."""
    return subprocess.run(nginx_command(config, "-t"), capture_output=True, text=True, timeout=60)
