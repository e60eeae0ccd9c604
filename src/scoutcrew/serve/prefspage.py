"""The web app's pages for the reader's preferences: up and down on each story of a report page,
and a page per crew that lists what the ratings taught, each rule with the ratings behind it,
each removable, and a reset.

Every rating is a state change: POST only, with the app's CSRF token, under the app's token,
Host and same-origin rules (app.py's guard). A rating for a report, run or story that is not
there is refused with a page that says what is (4xx); nothing is written then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..errors import BadRating, ScoutcrewError, UnknownStory
from ..report.index import ReportEntry
from .forms import checked_form
from .library import Library
from .ratings import Ratings

if TYPE_CHECKING:
    from starlette.datastructures import FormData

MAX_FORM_BYTES = 20_000  # a CSRF token, a story id or a rule, a vote

Page = Callable[..., Response]


def rating_context(ratings: Ratings, entry: ReportEntry) -> dict[str, Any]:
    """What the report page needs to offer up and down on each of its stories."""
    run_id = str((entry.data.get("meta") or {}).get("run_id") or "")
    stories = [
        {"id": s.get("id"), "title": s.get("title"), "aside": False}
        for s in entry.data.get("stories") or []
        if isinstance(s, dict) and s.get("id")
    ]
    aside = (entry.data.get("preferences") or {}).get("also_in_news") or []
    stories += [
        {"id": s.get("id"), "title": s.get("title"), "aside": True}
        for s in aside
        if isinstance(s, dict) and s.get("id")
    ]
    votes = ratings.story_votes(entry.crew) if run_id and stories else {}
    for story in stories:
        story["vote"] = votes.get(str(story["id"]), 0)
    return {"rateable": stories if run_id else [], "run_id": run_id}


def preference_routes(library: Library, ratings: Ratings, page: Page, csrf: str) -> list[Route]:
    """The routes: rate a story of a report; the crew's preferences page and its changes."""

    def refused(request: Request, exc: Exception | str, status: int = 400) -> Response:
        return page(request, "error.html", status=status, message=f"Not rated: {exc}")

    async def rate(request: Request) -> Response:
        crew, base = request.path_params["crew"], request.path_params["base"]
        entry = await asyncio.to_thread(library.report, crew, base)
        if entry is None:
            return page(request, "error.html", status=404, message="No such report.")
        form = await checked_form(request, csrf, MAX_FORM_BYTES)
        if isinstance(form, Response):
            return form
        run_id = str((entry.data.get("meta") or {}).get("run_id") or "")
        story = str(form.get("story", ""))
        if not run_id:
            return refused(request, "this report was written before runs kept their id", 409)
        try:
            rated = await asyncio.to_thread(
                ratings.rate_story, run_id, story, str(form.get("vote", ""))
            )
        except UnknownStory as exc:
            return refused(request, exc, 404)
        except (BadRating, ScoutcrewError) as exc:
            return refused(request, exc)
        target = f"/reports/{crew}/{base}?rated={rated.story_id}#rate-{rated.story_id}"
        return RedirectResponse(target, status_code=303)

    async def preferences(request: Request) -> Response:
        crew = request.path_params["crew"]
        if not library.is_crew(crew):
            return page(request, "error.html", status=404, message="No such crew.")
        view = await asyncio.to_thread(ratings.overview, crew)
        done = str(request.query_params.get("done", ""))[:200]
        return page(request, "prefs.html", crew=crew, view=view, done=done)

    def change(
        action: Callable[[str, FormData], Awaitable[str]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            crew = request.path_params["crew"]
            if not library.is_crew(crew):
                return page(request, "error.html", status=404, message="No such crew.")
            form = await checked_form(request, csrf, MAX_FORM_BYTES)
            if isinstance(form, Response):
                return form
            try:
                done = await action(crew, form)
            except UnknownStory as exc:
                return refused(request, exc, 404)
            except (BadRating, ScoutcrewError, ValueError) as exc:
                return refused(request, exc)
            from urllib.parse import quote

            return RedirectResponse(
                f"/crews/{crew}/preferences?done={quote(done)}", status_code=303
            )

        return handler

    async def add_rule(crew: str, form: FormData) -> str:
        kind = str(form.get("kind", ""))
        rated = await asyncio.to_thread(
            ratings.rate_rule, crew, kind, str(form.get("value", "")), str(form.get("vote", ""))
        )
        return str(rated)

    async def remove_rule(crew: str, form: FormData) -> str:
        removed = await asyncio.to_thread(ratings.forget_rule, crew, str(form.get("rule", "")))
        return f"removed: {removed}"

    async def remove_rating(crew: str, form: FormData) -> str:
        rating = int(str(form.get("rating", "")))
        await asyncio.to_thread(ratings.remove_rating, crew, rating)
        return f"rating #{rating} removed"

    async def reset(crew: str, form: FormData) -> str:
        count = await asyncio.to_thread(ratings.reset, crew)
        return f"{count} ratings forgotten"

    return [
        Route("/reports/{crew}/{base}/rate", rate, methods=["POST"]),
        Route("/crews/{crew}/preferences", preferences),
        Route("/crews/{crew}/preferences/rule", change(add_rule), methods=["POST"]),
        Route("/crews/{crew}/preferences/remove", change(remove_rule), methods=["POST"]),
        Route("/crews/{crew}/preferences/remove-rating", change(remove_rating), methods=["POST"]),
        Route("/crews/{crew}/preferences/reset", change(reset), methods=["POST"]),
    ]
