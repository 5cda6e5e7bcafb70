"""``ssots serve``: the REST API (and dashboard) under uvicorn, with the job manager and
its local worker processes."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from ssots.cli._app import app, err_console, flag
from ssots.errors import ParameterError


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(min=0, help="Jobs training at once (default: cores; 0: API only)."),
    ] = None,
    insecure: Annotated[
        bool, flag("--insecure", help="Allow a non-loopback host without a token.")
    ] = False,
    access_log: Annotated[
        bool, flag("--access-log/--no-access-log", help="Log every request.")
    ] = True,
) -> None:
    """Serve the API at http://HOST:PORT/api (docs at /docs) and run training jobs.

    Binds 127.0.0.1 by default. Any other host needs SSOTS_API_TOKEN (clients send
    `Authorization: Bearer <token>`) unless --insecure is given. One server owns an
    SQLite home: a second one on the same SSOTS_HOME refuses to start.
    """
    import uvicorn

    from ssots.config import Settings
    from ssots.store.home import HomeLock, locks_home
    from ssots.web import create_app

    settings = Settings.from_env()
    if not is_loopback(host) and settings.api_token is None:
        if not insecure:
            raise ParameterError(
                f"`--host {host}` exposes the API beyond this machine: set SSOTS_API_TOKEN "
                "to a long random secret, or pass --insecure to serve without a token"
            )
        err_console.print(f"[bold red]Warning:[/] serving on {host} without an API token")
    # Before anything else touches the home: a second server must leave the first's jobs be.
    lock = HomeLock.acquire(settings.home, host=host, port=port) if locks_home(settings) else None
    try:
        uvicorn.run(
            create_app(settings, workers=workers, home_lock=lock),
            host=host,
            port=port,
            access_log=access_log,
            timeout_graceful_shutdown=3,
        )
    finally:
        if lock is not None:
            lock.release()


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
