"""The Starlette application: routes, templates and error pages. Only reads; every value autoescaped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from govkit import __version__
from govkit.audit.log import LogIntegrityError
from govkit.errors import GovkitError
from govkit.web import views
from govkit.web.downloads import media_type, read_recorded
from govkit.web.source import LogSource, Snapshot

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Settings:
    folders: tuple[Path, ...]  # searched (by SHA-256) for the reports and bundles the log recorded
    location: str  # shown in the footer


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template, whatever its name: all values are escaped for HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(model_url=model_url, query=query, version=__version__)
    env.filters["day"] = lambda stamp: str(stamp or "")[:10]
    env.filters["moment"] = lambda stamp: str(stamp or "")[:19].replace("T", " ")
    return env


def model_url(name: str) -> str:
    return "/models/" + quote(name, safe="")


def query(path: str, **params: Any) -> str:
    """`path` with the non-empty parameters (page 1 is the default, so it is left out)."""
    kept = {k: v for k, v in params.items() if v not in (None, "") and not (k == "page" and v == 1)}
    return f"{path}?{urlencode(kept)}" if kept else path


def _int(text: str | None, default: int | None) -> int | None:
    try:
        return int(text) if text is not None and text.isdigit() and len(text) < 12 else default
    except ValueError:
        return default


def create_app(source: LogSource, settings: Settings) -> Starlette:
    env = _environment()

    def page(template: str, code: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(template).render(location=settings.location, **context)
        return HTMLResponse(html, status_code=code)

    def guarded(handler: Callable[[Request, Snapshot], Response]) -> Callable[[Request], Response]:
        """One snapshot per request; a log that does not verify is shown as such, never rendered from."""

        def endpoint(request: Request) -> Response:
            try:
                return handler(request, source.snapshot())
            except LogIntegrityError as exc:
                return page("error.html", 500, title="The audit log does not verify", message=str(exc), nav="")
            except GovkitError as exc:
                return page("error.html", 500, title="The audit log cannot be read", message=str(exc), nav="")

        return endpoint

    def not_found(what: str) -> HTMLResponse:
        return page("error.html", 404, title="Not found", message=what, nav="")

    def portfolio(request: Request, snap: Snapshot) -> Response:
        p = request.query_params
        filters = views.Filters(team=p.get("team", ""), state=p.get("state", ""), q=p.get("q", "")[:200])
        ctx = views.portfolio(source, snap, filters, _int(p.get("page"), 1) or 1)
        return page("portfolio.html", nav="portfolio", today=snap.today, **ctx)

    def model(request: Request, snap: Snapshot) -> Response:
        name = request.path_params["name"]
        ctx = views.model_page(source, snap, name)
        if ctx is None:
            return not_found(f"no model named {name!r} in this audit log")
        return page("model.html", nav="portfolio", today=snap.today, **ctx)

    def evaluation(request: Request, snap: Snapshot) -> Response:
        ctx = views.evaluation_page(source, snap, request.path_params["seq"])
        if ctx is None:
            return not_found("no recorded evaluation at that audit-log entry")
        return page("evaluation.html", nav="portfolio", **ctx)

    def audit(request: Request, snap: Snapshot) -> Response:
        p = request.query_params
        ctx = views.audit_page(
            source, snap, p.get("model", "")[:200], p.get("action", "")[:100], _int(p.get("before"), None)
        )
        return page("audit.html", nav="audit", **ctx)

    def downloads(request: Request, snap: Snapshot) -> Response:
        ctx = views.downloads_page(source, snap, request.query_params.get("model", "")[:200])
        return page("downloads.html", nav="downloads", **ctx)

    def download(request: Request, snap: Snapshot) -> Response:
        wanted = views.find_download(source, snap, request.path_params["seq"])
        if wanted is None:
            return not_found("that audit-log entry records no report, sign-off or evidence bundle")
        data = read_recorded(settings.folders, wanted)
        if data is None:
            return not_found(
                f"{wanted.name} (sha256 {wanted.sha256[:16]}…) is recorded in the log but is not in the folders "
                "this viewer serves (govkit serve --files)"
            )
        disposition = f"attachment; filename*=UTF-8''{quote(wanted.name, safe='')}"
        return Response(data, media_type=media_type(wanted.name), headers={"content-disposition": disposition})

    routes = [
        Route("/", guarded(portfolio)),
        Route("/models/{name:path}", guarded(model)),
        Route("/evaluations/{seq:int}", guarded(evaluation)),
        Route("/audit", guarded(audit)),
        Route("/downloads", guarded(downloads)),
        Route("/files/{seq:int}", guarded(download)),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes)

    async def missing(request: Request, exc: Exception) -> Response:
        return not_found(f"nothing at {request.url.path}")

    app.add_exception_handler(404, missing)
    return app
