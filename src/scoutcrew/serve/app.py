"""The web app of `scoutcrew serve`: crews, reports with their flags, runs, run now, feeds.

Safe by default. It binds 127.0.0.1; any other address needs a token, checked on every request
(an `Authorization: Bearer` header, the `scoutcrew_token` cookie, or `?token=` once). Requests
whose Host is not this server's are refused (DNS rebinding). State changes (run now, ratings and
preferences) are POST only and carry a CSRF token; cross-origin POSTs are refused. Every page
has a Content-Security-Policy that allows scripts from /static only, so nothing inline (and
nothing in a report) runs. The app reads report folders and never writes there; only the runs
it starts do (ratings go to the store).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import re
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..config.project import Project
from ..errors import BadInput, InputsNeeded, RunLocked, UnknownCrew
from ..report.atom import ALL_CREWS, MAX_ENTRIES, render_feed
from ..report.index import ReportEntry
from .forms import checked_form
from .library import Library
from .prefspage import preference_routes, rating_context
from .ratings import Ratings
from .reportview import build_view
from .runner import RunManager, Started, run_outcome

if TYPE_CHECKING:
    from types import FrameType

HERE = Path(__file__).parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
TOKEN_COOKIE = "scoutcrew_token"
SSE_POLL = 0.25
PAGE_SIZE = 50
MAX_FORM_BYTES = 1_000_000  # a Run now form: a CSRF token and a few inputs


@dataclass
class Settings:
    """How the app was started."""

    project: Project
    host: str = "127.0.0.1"
    port: int = 8787
    token: str | None = None
    backend: str | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


MIN_TOKEN_CHARS = 16
MIN_TOKEN_DISTINCT = 8


def weak_token(token: str) -> str | None:
    """Why `token` is too weak to guard an app that other machines reach, or None."""
    if any(c.isspace() or not c.isprintable() for c in token):
        return "it holds spaces or control characters"
    if len(token) < MIN_TOKEN_CHARS:
        return f"it has {len(token)} characters; at least {MIN_TOKEN_CHARS} are needed"
    if len(set(token)) < MIN_TOKEN_DISTINCT:
        return f"it repeats a few characters; at least {MIN_TOKEN_DISTINCT} different are needed"
    return None


_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def host_name(header: str) -> str | None:
    """The host of a Host header (`name`, `name:port`, `[v6]`, `[v6]:port`), or None when the
    header is anything else: a userinfo `@`, a second colon, a bracket followed by more."""
    host, port = header, ""
    if header.startswith("["):
        close = header.find("]")
        host, rest = header[1:close], header[close + 1 :]
        if close < 0 or (rest and not rest.startswith(":")):
            return None
        port = rest[1:] if rest else ""
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return None
    else:
        host, colon, port = header.partition(":")
        if colon and not port or not _HOST_NAME.fullmatch(host):
            return None
    if port and not (port.isascii() and port.isdigit() and len(port) <= 5):
        return None
    return host.lower()


def create_app(settings: Settings, manager: RunManager | None = None) -> Starlette:
    """Build the Starlette app for a project; `manager` runs the crews it starts."""
    library = Library(settings.project)
    ratings = Ratings(settings.project, "web")
    manager = manager or RunManager(settings.project, backend=settings.backend)
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,  # every template, whatever its name: report text is never markup
        undefined=jinja2.StrictUndefined,
    )
    templates = Jinja2Templates(env=env)
    templates.env.globals["csrf"] = settings.csrf
    templates.env.globals["nav"] = ""
    templates.env.filters["when"] = _when

    def page(request: Request, name: str, status: int = 200, **context: object) -> Response:
        return templates.TemplateResponse(request, name, context, status_code=status)

    def not_found(request: Request, what: str = "Not found") -> Response:
        return page(request, "error.html", status=404, message=what)

    async def home(request: Request) -> Response:
        return RedirectResponse("/crews", status_code=302)

    async def favicon(request: Request) -> Response:
        return RedirectResponse("/static/favicon.svg", status_code=301)

    async def crews(request: Request) -> Response:
        return await crews_page(request)

    async def crews_page(
        request: Request, status: int = 200, refused: dict[str, Any] | None = None
    ) -> Response:
        infos = await asyncio.to_thread(library.crews)
        live = {r.crew: r for r in manager.runs.values() if r.alive}
        return page(
            request,
            "crews.html",
            status=status,
            crews=infos,
            live=live,
            now=datetime.now(UTC),
            refused=refused or {},
        )

    async def run_now(request: Request) -> Response:
        crew = request.path_params["crew"]
        if not library.is_crew(crew):
            return not_found(request, "No such crew.")
        form = await checked_form(request, settings.csrf, MAX_FORM_BYTES)
        if isinstance(form, Response):
            return form
        inputs = {
            str(k)[len("input.") :]: str(v)
            for k, v in form.multi_items()
            if str(k).startswith("input.") and isinstance(v, str)
        }
        try:
            started = await asyncio.to_thread(manager.start, crew, inputs)
        except RunLocked as exc:
            return page(request, "error.html", status=409, message=str(exc))
        except InputsNeeded as exc:
            fields = " and ".join(exc.names)
            message = f"Fill in {fields}: {crew} needs it to run. Nothing was started."
            refused = {"crew": crew, "message": message, "fields": exc.names, "given": inputs}
            return await crews_page(request, status=400, refused=refused)
        except (UnknownCrew, BadInput) as exc:
            message = f"Not started: {exc}."
            return await crews_page(request, status=400, refused={"crew": crew, "message": message})
        return RedirectResponse(f"/live/{started.handle}", status_code=303)

    async def live(request: Request) -> Response:
        started = manager.get(request.path_params["handle"])
        if started is None:
            return not_found(request, "No such run in this server.")
        return page(request, "live.html", run=started, output=started.output())

    async def live_events(request: Request) -> Response:
        started = manager.get(request.path_params["handle"])
        if started is None:
            return PlainTextResponse("not found", status_code=404)
        return StreamingResponse(
            _progress_events(started, manager, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def reports(request: Request) -> Response:
        crew = request.query_params.get("crew") or None
        if crew is not None and not library.is_crew(crew):
            return not_found(request, "No such crew.")
        try:
            number = max(1, min(int(request.query_params.get("page", "1")), 10_000))
        except ValueError:
            number = 1
        entries = await asyncio.to_thread(library.reports, crew, number * PAGE_SIZE + 1)
        shown = entries[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
        more = len(entries) > number * PAGE_SIZE
        return page(
            request, "reports.html", reports=shown, crew=crew, page_number=number, more=more
        )

    async def report(request: Request) -> Response:
        crew, base = request.path_params["crew"], request.path_params["base"]
        entry = await asyncio.to_thread(library.report, crew, base)
        if entry is None:
            return not_found(request, "No such report.")
        try:
            page_html = entry.html_path.read_text(encoding="utf-8")
        except OSError:
            page_html = ""
        view = build_view(page_html, entry.flags) if page_html else None
        rated = str(request.query_params.get("rated", ""))[:80]
        return page(
            request,
            "report.html",
            entry=entry,
            view=view,
            flags=entry.flags,
            rated=rated,
            **await asyncio.to_thread(rating_context, ratings, entry),
        )

    async def report_markdown(request: Request) -> Response:
        crew, base = request.path_params["crew"], request.path_params["base"]
        entry = await asyncio.to_thread(library.report, crew, base)
        if entry is None or not entry.md_path.is_file():
            return PlainTextResponse("not found", status_code=404)
        return PlainTextResponse(
            entry.md_path.read_text(encoding="utf-8"), media_type="text/markdown; charset=utf-8"
        )

    async def runs(request: Request) -> Response:
        crew = request.query_params.get("crew") or None
        if crew is not None and not library.is_crew(crew):
            return not_found(request, "No such crew.")
        rows = await asyncio.to_thread(library.runs, crew)
        return page(request, "runs.html", runs=rows, crew=crew)

    async def run_detail(request: Request) -> Response:
        record = await asyncio.to_thread(library.run, request.path_params["run_id"])
        if record is None:
            return not_found(request, "No such run.")
        entry = library.report_for_path(record.get("report"))
        return page(request, "run.html", run=record, report=entry, trail=_trail(record, entry))

    async def feed(request: Request) -> Response:
        name = request.path_params["name"]
        if name != ALL_CREWS and not library.is_crew(name):
            return PlainTextResponse("not found", status_code=404)
        entries = await asyncio.to_thread(
            library.reports, None if name == ALL_CREWS else name, MAX_ENTRIES
        )
        origin = str(request.base_url).rstrip("/")
        body = render_feed(
            entries,
            crew=name,
            link_for=lambda e: f"{origin}/reports/{e.crew}/{e.base}",
            self_url=f"{origin}/feeds/{name}.atom",
            home_url=f"{origin}/reports" + ("" if name == ALL_CREWS else f"?crew={name}"),
        )
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    routes = [
        Route("/", home),
        Route("/favicon.ico", favicon),
        Route("/crews", crews),
        Route("/crews/{crew}/run", run_now, methods=["POST"]),
        Route("/live/{handle}", live),
        Route("/live/{handle}/events", live_events),
        Route("/reports", reports),
        Route("/reports/{crew}/{base}.md", report_markdown),
        Route("/reports/{crew}/{base}", report),
        Route("/runs", runs),
        Route("/runs/{run_id}", run_detail),
        Route("/feeds/{name}.atom", feed),
        *preference_routes(library, ratings, page, settings.csrf),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await asyncio.to_thread(manager.shutdown)

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.manager = manager
    app.state.settings = settings
    app.add_middleware(_Guard, settings=settings)

    async def handle_404(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("not found", status_code=404)

    app.add_exception_handler(404, handle_404)
    app.add_exception_handler(405, _method_not_allowed)
    return app


def run_server(settings: Settings) -> None:
    """Serve until Ctrl-C or SIGTERM; then the runs it started are stopped, not orphaned."""
    import uvicorn

    manager = RunManager(settings.project, backend=settings.backend)
    app = create_app(settings, manager)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            manager.stopping.set()  # live progress streams end, so the server can stop
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=5,
        lifespan="on",
    )
    server = Server(config)
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    print(f"scoutcrew serve: http://{shown}:{settings.port}/ (Ctrl-C stops)", file=sys.stderr)
    server.run()


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("method not allowed", status_code=405)


async def _progress_events(
    started: Started, manager: RunManager, request: Request
) -> AsyncIterator[bytes]:
    """Server-sent events: each new line of the run's output, then one `done` event."""
    offset = 0
    pending = b""
    while True:
        alive = started.alive
        try:
            with open(started.log_path, "rb") as fh:
                fh.seek(offset)
                chunk = fh.read()
        except OSError:
            chunk = b""
        offset += len(chunk)
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            text = line.decode("utf-8", errors="replace").rstrip("\r")
            yield _sse("line", {"text": text})
        if not alive:
            if pending:
                yield _sse("line", {"text": pending.decode("utf-8", errors="replace")})
            outcome = await asyncio.to_thread(run_outcome, manager.project, started)
            library = Library(manager.project)
            entry = library.report_for_path(outcome.get("report"))
            outcome["report_url"] = f"/reports/{entry.crew}/{entry.base}" if entry else None
            outcome["run_url"] = f"/runs/{outcome['run_id']}" if outcome.get("run_id") else None
            yield _sse("done", outcome)
            return
        if manager.stopping.is_set() or await request.is_disconnected():
            return
        await asyncio.sleep(SSE_POLL)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _trail(run: dict[str, Any], entry: ReportEntry | None) -> list[Any]:
    """The research trail (plan, searches, follow-ups) where the run or report kept one."""
    for holder in (run.get("evidence") or {}, (entry.data.get("meta") if entry else None) or {}):
        if isinstance(holder, dict):
            for key in ("research_trail", "trail", "research"):
                value = holder.get(key)
                if isinstance(value, list) and value:
                    return value
                if isinstance(value, dict) and isinstance(value.get("steps"), list):
                    return list(value["steps"])
    return []


def _when(value: object) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = str(value)
    try:
        return (
            datetime.fromisoformat(text.replace("Z", "+00:00"))
            .astimezone(UTC)
            .strftime("%Y-%m-%d %H:%M:%S UTC")
        )
    except ValueError:
        return text


class _Guard:
    """Token, Host and CSRF-origin checks and security headers, on every request."""

    def __init__(self, app: Callable[..., Awaitable[None]], settings: Settings):
        self.app = app
        self.settings = settings

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = self._refuse(request)
        if refusal is not None:
            await self._headers(refusal)(scope, receive, send)
            return
        set_cookie = bool(self.settings.token and request.query_params.get("token"))

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                for key, value in _security_headers().items():
                    headers.append((key.encode(), value.encode()))
                if set_cookie and self.settings.token:
                    cookie = (
                        f"{TOKEN_COOKIE}={self.settings.token}; Path=/; HttpOnly; SameSite=Strict"
                    )
                    headers.append((b"set-cookie", cookie.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refuse(self, request: Request) -> Response | None:
        s = self.settings
        if s.token:
            given = (
                _bearer(request.headers.get("authorization", ""))
                or request.cookies.get(TOKEN_COOKIE, "")
                or request.query_params.get("token", "")
            )
            if not hmac.compare_digest(given.encode(), s.token.encode()):
                return PlainTextResponse(
                    "a token is required: send `Authorization: Bearer TOKEN` or open "
                    "/?token=TOKEN once",
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        elif not self._host_ok(request.headers.get("host", "")):
            return PlainTextResponse("unknown Host header", status_code=421)
        if request.method not in ("GET", "HEAD"):
            origin = request.headers.get("origin") or request.headers.get("referer")
            if origin and not self._same_origin(origin, request):
                return PlainTextResponse("cross-origin request refused", status_code=403)
        return None

    def _host_ok(self, host: str) -> bool:
        name = host_name(host)
        return name is not None and (is_loopback(name) or name == self.settings.host)

    def _same_origin(self, origin: str, request: Request) -> bool:
        parts = urlsplit(origin)
        return parts.netloc == request.headers.get("host", "")

    @staticmethod
    def _headers(response: Response) -> Response:
        for key, value in _security_headers().items():
            response.headers[key] = value
        return response


def _security_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


def _bearer(header: str) -> str:
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""
