"""``ssots serve``: the REST API (and dashboard) under uvicorn, with the job manager and
its local worker processes, the scheduler and the webhook sender."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from ssots.cli._app import app, err_console
from ssots.errors import ParameterError

KEEP_ALIVE_SECONDS = 5
"""Seconds an idle keep-alive connection stays open."""
MAX_HEAD_BYTES = 16 * 1024
"""Largest request line plus headers uvicorn's h11 parser buffers."""


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(min=0, help="Jobs training at once (default: cores; 0: API only)."),
    ] = None,
    threads_per_worker: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Native threads (BLAS, OpenMP, numba) of each job worker "
            "(default: max(1, cores // workers)).",
        ),
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Allow a non-loopback host without a token.")
    ] = False,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every request.")
    ] = True,
    allowed_hosts: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-hosts",
            metavar="NAMES",
            help="More Host names to answer, comma-separated or repeated ('*': any); "
            "added to SSOTS_ALLOWED_HOSTS.",
        ),
    ] = None,
    allow_private_targets: Annotated[
        bool,
        typer.Option(
            "--allow-private-targets",
            help="Let webhooks target private and loopback addresses "
            "(SSOTS_WEBHOOK_ALLOW_PRIVATE=1).",
        ),
    ] = False,
) -> None:
    """Serve the API at http://HOST:PORT/api (docs at /docs), run training jobs, fire
    schedules and send webhooks.

    Binds 127.0.0.1 by default. Any other host needs SSOTS_API_TOKEN (clients send
    `Authorization: Bearer <token>`) unless --insecure is given. Requests must name the
    server in their Host header: 127.0.0.1, localhost, [::1], the --host address, or a
    name of --allowed-hosts. One server owns an SQLite home: a second one on the same
    SSOTS_HOME refuses to start.
    """
    import uvicorn

    from ssots.config import Settings
    from ssots.store.home import HomeLock, locks_home
    from ssots.web import create_app
    from ssots.web.security import allowed_hosts as host_names

    settings = Settings.from_env()
    if allow_private_targets:
        settings = settings.model_copy(update={"webhook_allow_private": True})
    extra = [name for option in allowed_hosts or () for name in option.split(",")]
    hosts = host_names([*settings.allowed_hosts, *extra], bind=host)
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
            create_app(
                settings,
                workers=workers,
                threads_per_worker=threads_per_worker,
                allowed_hosts=hosts,
                home_lock=lock,
            ),
            host=host,
            port=port,
            access_log=access_log,
            timeout_graceful_shutdown=3,
            # An idle keep-alive connection is closed after 5 s; a request head may not grow
            # past 16 KiB (h11; httptools has its own fixed limits). uvicorn has no timeout
            # for a slow request head; a stalled body is cut off by security.RequestGuard.
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
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
