"""Start `govkit serve`: check the bind and the token, open the log read-only, run uvicorn on our socket."""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable
from pathlib import Path

from govkit.errors import GovkitError
from govkit.web.app import Settings, create_app
from govkit.web.security import Guard, access_token, is_loopback
from govkit.web.source import LogSource, ViewerLog


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a port in use is one line, not a uvicorn traceback."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise GovkitError(f"cannot resolve {host}: {exc.strerror}", field="--host") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise GovkitError(f"port {port} on {host} is in use; pick another with --port", field="--port") from None
        raise GovkitError(f"cannot listen on {host}:{port}: {exc.strerror}", field="--host") from None
    return sock


def serve(
    db: str,
    *,
    host: str,
    port: int,
    key_path: Path | None,
    trusted_key: Path | None,
    folders: tuple[Path, ...],
    policy: Path | None,
    policy_set: str | None,
    announce: Callable[[str], None],
) -> None:
    import uvicorn

    from govkit.inventory.config import policy_folder, rules_source

    token = access_token(host, os.environ)
    rules = rules_source(policy_folder(policy), policy_set)
    rules("")  # a bad policy folder stops the server now, not its first page
    log = ViewerLog(db, key_path=key_path, trusted_key=trusted_key)
    source = LogSource(log, rules)
    try:
        sock = bind(host, port)
        app = Guard(create_app(source, Settings(folders, db)), token=token, loopback=is_loopback(host))
        config = uvicorn.Config(app, log_level="warning", server_header=False, lifespan="off")
        actual = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        auth = " (requests need `Authorization: Bearer $GOVKIT_SERVE_TOKEN`)" if token else ""
        announce(f"govkit serve: http://{shown}:{actual}/ read-only view of {db}{auth}; Ctrl-C stops it")
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        source.close()
