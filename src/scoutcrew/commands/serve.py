"""`scoutcrew serve`, `publish --atom DIR` and `mcp`: the reading side's commands."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import MissingExtra, ServeRefused

if TYPE_CHECKING:
    from ..report.index import ReportEntry

TOKEN_ENV = "SCOUTCREW_TOKEN"
log = logging.getLogger("scoutcrew.serve")


def add_serve_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `serve`, `publish` and `mcp` to the CLI's subparsers."""
    p = subparsers.add_parser("serve", help="local web app: crews, reports, runs, run now, feeds")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    p.add_argument("--port", type=int, default=8787, help="port (default %(default)s)")
    p.add_argument(
        "--token",
        help=f"required on every request (default ${TOKEN_ENV}); needed for any non-loopback host",
    )
    p.add_argument(
        "--backend", choices=["auto", "ollama", "embedded"], help="backend of the runs it starts"
    )
    p.set_defaults(func=cmd_serve)

    p = subparsers.add_parser("publish", help="write the Atom feeds as static files")
    p.add_argument("--atom", metavar="DIR", required=True, help="folder for CREW.atom and all.atom")
    p.add_argument(
        "--base-url",
        metavar="URL",
        help="where the report folder is served (entry links become URL/CREW/REPORT.html; "
        "default: file:// links to the reports)",
    )
    p.set_defaults(func=cmd_publish)

    p = subparsers.add_parser("mcp", help="MCP server over stdio for other agents and chat UIs")
    p.add_argument(
        "--backend", choices=["auto", "ollama", "embedded"], help="backend of the runs it starts"
    )
    p.set_defaults(func=cmd_mcp)


def _need(module: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingExtra(
            f'`{module}` is not installed: install the serve extra with `pip install -e ".[serve]"`'
        )


def cmd_serve(args: argparse.Namespace) -> int:
    from ..config.project import find_project

    for module in ("starlette", "uvicorn", "jinja2"):
        _need(module)
    from ..serve.app import Settings, is_loopback, run_server, weak_token

    token = args.token or os.environ.get(TOKEN_ENV) or None
    if not is_loopback(args.host):
        if not token:
            raise ServeRefused(
                f"binding {args.host} makes the app reachable from other machines: give a "
                f"token with --token or ${TOKEN_ENV} (or bind 127.0.0.1)"
            )
        why = weak_token(token)
        if why:
            raise ServeRefused(
                f"the token is too weak to open the app to other machines ({why}): make one "
                "with `python3 -c 'import secrets; print(secrets.token_urlsafe(24))'`"
            )
    project = find_project(args.project)
    settings = Settings(project, host=args.host, port=args.port, token=token, backend=args.backend)
    run_server(settings)
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from ..config.project import find_project
    from ..report.atom import MAX_ENTRIES, write_feeds
    from ..serve.library import Library

    project = find_project(args.project)
    library = Library(project)
    out = Path(args.atom).resolve()
    base = (args.base_url or "").rstrip("/")

    def link_for(entry: ReportEntry) -> str:
        if base:
            return f"{base}/{entry.crew}/{entry.base}.html"
        return entry.html_path.resolve().as_uri()

    def feed_url(name: str) -> str:
        return f"{base}/feeds/{name}.atom" if base else (out / f"{name}.atom").as_uri()

    written = write_feeds(library.by_crew(MAX_ENTRIES), out, link_for=link_for, feed_url=feed_url)
    for path in written:
        print(path)
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    from ..config.project import find_project

    _need("mcp")
    from ..serve.mcp import serve_stdio

    serve_stdio(find_project(args.project), backend=args.backend)
    return 0
