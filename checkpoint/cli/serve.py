"""`checkpoint serve`: the office's sync service for stations on a network (uvicorn running checkpoint.server)."""

from __future__ import annotations

import hashlib
import logging
import socket
import ssl
import sys
from pathlib import Path

import click

from ..errors import CheckpointError
from ..netsync import is_loopback
from .context import Context, pass_ctx, say


def plain_http_warning(host: str, tls: bool) -> str | None:
    """The warning for plain HTTP on an address other than loopback (None when there is nothing to warn)."""
    if tls or is_loopback(host):
        return None
    return (
        f"Warning: serving plain HTTP on {host}: anyone on that network can read the traffic log as it "
        "travels; use --tls-cert and --tls-key."
    )


def certificate_fingerprint(cert: Path) -> str:
    """The SHA-256 of the certificate (DER), as a station pins it in sync.tls_fingerprint."""
    try:
        pem = cert.read_text(encoding="ascii")
        der = ssl.PEM_cert_to_DER_cert(pem)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(
            f"{cert} is not a PEM certificate; give the office's certificate file."
        ) from exc
    return hashlib.sha256(der).hexdigest()


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CheckpointError(
            f"Cannot listen on {host}:{port} ({exc.strerror}); choose another --port or stop what uses it."
        ) from exc
    sock.listen(128)
    return sock


@click.command("serve")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default)."
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8750, show_default=True, help="Port (0: any free)."
)
@click.option(
    "--tls-cert", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="PEM certificate."
)
@click.option(
    "--tls-key", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="PEM private key."
)
@click.option(
    "--max-bundle-mb",
    type=click.IntRange(1, 2000),
    default=64,
    show_default=True,
    help="Largest bundle accepted.",
)
@click.option(
    "--request-window",
    type=click.IntRange(10, 3600),
    default=300,
    show_default=True,
    help="Seconds a station's signed request stays valid (clock difference allowed).",
)
@click.option(
    "--read-timeout",
    type=click.FloatRange(1, 600),
    default=30.0,
    show_default=True,
    help="Seconds per piece of body.",
)
@click.option(
    "--limit-concurrency",
    type=click.IntRange(1, 10000),
    default=256,
    show_default=True,
    help="Connections at once.",
)
@pass_ctx
def serve(
    ctx: Context,
    host: str,
    port: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    max_bundle_mb: int,
    request_window: int,
    read_timeout: float,
    limit_concurrency: int,
) -> None:
    """Serve this office's store to stations: signed bundles in, receipts, trust file and revocation list out.

    One JSON line per request goes to standard output (no addresses, no personal data).
    """
    import uvicorn

    from ..server import OfficeService, create_app

    if (tls_cert is None) != (tls_key is None):
        raise CheckpointError("Give both --tls-cert and --tls-key for HTTPS, or neither.")
    home = ctx.home.ensure()
    if not home.is_office():
        raise CheckpointError(
            f"{home.root} is not an office home (no office keys); run serve in the office's home."
        )
    service = OfficeService(
        home,
        ctx.settings,
        max_bundle_bytes=max_bundle_mb * 1024 * 1024,
        window=request_window,
        read_timeout=read_timeout,
    )
    scheme = "https" if tls_cert is not None else "http"
    warning = plain_http_warning(host, tls_cert is not None)
    if warning is not None:
        say(warning, err=True)
    sock = listen(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger("checkpoint.serve.access")
    access.handlers = [handler]
    access.setLevel(logging.INFO)
    access.propagate = False
    say(f"checkpoint serve: listening on {scheme}://{shown}:{bound} for office home {home.root}", err=True)
    if tls_cert is not None:
        say(
            f"Certificate fingerprint (sync.tls_fingerprint at each station): {certificate_fingerprint(tls_cert)}",
            err=True,
        )
    sys.stderr.flush()
    config = uvicorn.Config(
        create_app(service),
        ssl_certfile=None if tls_cert is None else str(tls_cert),
        ssl_keyfile=None if tls_key is None else str(tls_key),
        access_log=False,
        log_level="warning",
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
        limit_concurrency=limit_concurrency,
        h11_max_incomplete_event_size=64 * 1024,
        server_header=False,
        proxy_headers=False,
        lifespan="off",
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


def register(cli: click.Group) -> None:
    cli.add_command(serve)
