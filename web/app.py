"""The portal as an ASGI application (Starlette), server-rendered with Jinja, usable without JavaScript.

``create(app)`` takes an ``engine.api.App`` (its store, registry and clock). Every page reads the
session cookie, every form carries a CSRF token (bound to the session; before sign-in, a
double-submit cookie), and every answer carries the security headers (``SECURITY_HEADERS``). No
victim data goes into a URL, a log line or an error page: ids in paths are record ids, refused ones
are answered as not found, and the access log is off (``uvicorn`` runs with ``access_log=False``).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Optional

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from services import portal
from services import sms_inbound
from engine.errors import InvalidInput, NotAllowed, NotFound, NotPermitted, VcaseError
from web.i18n import EVENT_NAMES, LANGUAGES, words

HERE = Path(__file__).parent
SESSION = "vcase_session"
PRE = "vcase_pre"  # the double-submit CSRF cookie of forms shown before sign-in
LANG = "vcase_lang"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
TEMPLATES = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                        undefined=StrictUndefined)


class Portal:
    def __init__(self, app):
        self.app = app

    # -- helpers -----------------------------------------------------------------------------

    def language(self, request: Request, who: Optional[portal.Viewer] = None) -> str:
        chosen = request.cookies.get(LANG)
        if chosen in LANGUAGES:
            return chosen
        return who.language if who is not None and who.language in LANGUAGES else "en"

    def page(self, request: Request, template: str, status: int = 200, who: Optional[portal.Viewer] = None,
             **context: Any) -> HTMLResponse:
        lang = self.language(request, who)
        pre = request.cookies.get(PRE) or secrets.token_urlsafe(24)
        csrf = portal.csrf_token(who.token) if who is not None else pre
        html = TEMPLATES.get_template(template).render(
            t=words(lang), lang=lang, csrf=csrf, signed_in=who is not None and not who.must_set_pin,
            event_names=EVENT_NAMES[lang], **context)
        response = HTMLResponse(html, status_code=status)
        if who is None and request.cookies.get(PRE) != pre:
            _cookie(response, PRE, pre, max_age=3600)
        return response

    def message(self, request: Request, key: str, status: int, help_key: Optional[str] = None,
                who: Optional[portal.Viewer] = None) -> HTMLResponse:
        return self.page(request, "message.html", status, who, key=key, help_key=help_key)

    async def who(self, request: Request) -> portal.Viewer:
        return await run_in_threadpool(portal.signed_in, self.app, request.cookies.get(SESSION))

    async def form(self, request: Request, who: Optional[portal.Viewer]) -> Any:
        """The posted form, after its CSRF token is checked (403 and nothing done when it is wrong)."""
        form = await request.form()
        sent = form.get("csrf")
        if who is not None:
            ok = portal.csrf_ok(who.token, sent if isinstance(sent, str) else None)
        else:
            pre = request.cookies.get(PRE)
            ok = bool(pre) and isinstance(sent, str) and secrets.compare_digest(pre, sent)
        if not ok:
            raise HTTPException(403)
        return form

    def home(self) -> RedirectResponse:
        return RedirectResponse("/home", status_code=303)

    # -- pages -------------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        try:
            await self.who(request)
            return self.home()
        except portal.SessionEnded:
            return RedirectResponse("/sign-in", status_code=303)

    async def sign_in_page(self, request: Request) -> Response:
        return self.page(request, "sign_in.html", refused=False)

    async def sign_in(self, request: Request) -> Response:
        form = await self.form(request, None)
        try:
            signed = await run_in_threadpool(portal.sign_in, self.app, str(form.get("access_id", "")),
                                             str(form.get("secret", "")))
        except portal.SignInRefused:
            return self.page(request, "sign_in.html", status=401, refused=True)
        response = RedirectResponse("/pin" if signed.must_set_pin else "/home", status_code=303)
        _cookie(response, SESSION, signed.token)
        response.delete_cookie(PRE, path="/")
        return response

    async def pin_page(self, request: Request) -> Response:
        who = await self.who(request)
        return self.page(request, "pin.html", who=who, problem=None)

    async def pin(self, request: Request) -> Response:
        who = await self.who(request)
        form = await self.form(request, who)
        try:
            await run_in_threadpool(portal.set_pin, self.app, who, str(form.get("pin", "")),
                                    str(form.get("pin_again", "")))
        except InvalidInput as exc:
            return self.page(request, "pin.html", status=400, who=who, problem=str(exc))
        return self.home()

    async def signed(self, request: Request) -> portal.Viewer:
        """The signed-in party who has set a PIN (one who has not is sent to choose it)."""
        who = await self.who(request)
        if who.must_set_pin:
            raise _MustSetPin()
        return who

    async def home_page(self, request: Request) -> Response:
        who = await self.signed(request)
        data = await run_in_threadpool(portal.overview, self.app, who)
        recent = (await run_in_threadpool(portal.notices, self.app, who))[:5]
        return self.page(request, "home.html", who=who, me=data, recent=recent,
                         all_events=portal.registration_events(), done=request.query_params.get("done") == "1")

    async def notices_page(self, request: Request) -> Response:
        who = await self.signed(request)
        rows = await run_in_threadpool(portal.notices, self.app, who)
        return self.page(request, "notices.html", who=who, rows=rows)

    async def notice_page(self, request: Request) -> Response:
        who = await self.signed(request)
        row = await run_in_threadpool(portal.notice, self.app, who, _id(request, "notice"))
        return self.page(request, "notice.html", who=who, n=row)

    # -- actions (each one services call, then back to the page) --------------------------------

    async def confirm_notice(self, request: Request) -> Response:
        who = await self.signed(request)
        await self.form(request, who)
        await run_in_threadpool(portal.confirm_notice, self.app, who, _id(request, "notice"))
        return RedirectResponse("/notices", status_code=303)

    async def act(self, request: Request) -> Response:
        who = await self.signed(request)
        form = await self.form(request, who)
        event = request.path_params["event"]
        process = _id(request, "process")
        if event == "change_events":
            await run_in_threadpool(portal.change_events, self.app, who, process, _events(form))
        else:
            await run_in_threadpool(portal.act, self.app, who, process, event)
        return RedirectResponse("/home?done=1", status_code=303)

    async def choices(self, request: Request) -> Response:
        who = await self.signed(request)
        form = await self.form(request, who)
        order = [c for c in ("email", "sms", "letter") if form.get(f"channel_{c}")]
        await run_in_threadpool(portal.change_choices, self.app, who, order, str(form.get("language", "")) or None,
                                str(form.get("time_zone", "")).strip())
        return RedirectResponse("/home?done=1", status_code=303)

    async def register(self, request: Request) -> Response:
        who = await self.signed(request)
        form = await self.form(request, who)
        await run_in_threadpool(portal.register, self.app, who, _events(form))
        return RedirectResponse("/home?done=1", status_code=303)

    async def dialogue(self, request: Request) -> Response:
        who = await self.signed(request)
        await self.form(request, who)
        await run_in_threadpool(portal.request_dialogue, self.app, who)
        return RedirectResponse("/home?done=1", status_code=303)

    async def opt_out(self, request: Request) -> Response:
        who = await self.signed(request)
        await self.form(request, who)
        await run_in_threadpool(portal.opt_out_all, self.app, who)
        return RedirectResponse("/home?done=1", status_code=303)

    async def contact(self, request: Request) -> Response:
        who = await self.signed(request)
        await self.form(request, who)
        await run_in_threadpool(portal.ask_contact, self.app, who)
        return RedirectResponse("/home?done=1", status_code=303)

    async def switch_language(self, request: Request) -> Response:
        """The page's language (a cookie), signed in or not; the language of notices is a choice on the page."""
        try:
            who: Optional[portal.Viewer] = await self.who(request)
        except portal.SessionEnded:
            who = None
        form = await self.form(request, who)
        lang = form.get("lang") if form.get("lang") in LANGUAGES else "en"
        response = RedirectResponse("/home" if who is not None else "/sign-in", status_code=303)
        _cookie(response, LANG, str(lang), max_age=3600 * 24 * 30)
        return response

    async def sign_out(self, request: Request) -> Response:
        try:
            who: Optional[portal.Viewer] = await self.who(request)
        except portal.SessionEnded:
            who = None
        if who is not None:
            await self.form(request, who)
            await run_in_threadpool(portal.sign_out, self.app, who.token)
        response = RedirectResponse("/sign-in", status_code=303)
        response.delete_cookie(SESSION, path="/")
        return response

    # -- confirm links and texts (no sign-in) ----------------------------------------------------

    async def confirm_link_page(self, request: Request) -> Response:
        """GET shows a button only: mail scanners fetch links, and must never confirm anything."""
        token = request.path_params["token"]
        try:
            info = await run_in_threadpool(portal.link_notice, self.app, token)
        except NotFound:
            return self.message(request, "link_invalid", 404)
        return self.page(request, "confirm.html", subject=info["subject"], token=token)

    async def confirm_link(self, request: Request) -> Response:
        await self.form(request, None)
        try:
            await run_in_threadpool(portal.confirm_link, self.app, request.path_params["token"])
        except (NotFound, NotAllowed):
            return self.message(request, "link_invalid", 404)
        return self.message(request, "confirm_done", 200)

    async def sms(self, request: Request) -> Response:
        form = await request.form()
        params = {k: str(v) for k, v in form.items()}
        reply = await run_in_threadpool(sms_inbound.webhook, self.app, str(request.url),
                                        request.headers.get("X-Twilio-Signature", ""), params)
        if reply is None:
            return Response("", status_code=403)
        return Response(reply, media_type="application/xml")

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ("portal.css", "exit.js"):
            raise HTTPException(404)
        return FileResponse(HERE / "static" / name)


class _MustSetPin(Exception):
    pass


def _id(request: Request, name: str) -> int:
    value = request.path_params[name]
    if not value.isdigit() or not 0 < int(value) < 2**63:
        raise HTTPException(404)
    return int(value)


def _events(form) -> list[str]:
    return [str(v) for v in form.getlist("events")]


def _cookie(response: Response, name: str, value: str, max_age: Optional[int] = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="strict")


def create(app) -> Starlette:
    """The ASGI application for ``app`` (an ``engine.api.App``)."""
    p = Portal(app)
    routes = [
        Route("/", p.index), Route("/sign-in", p.sign_in_page, methods=["GET"]),
        Route("/sign-in", p.sign_in, methods=["POST"]), Route("/pin", p.pin_page, methods=["GET"]),
        Route("/pin", p.pin, methods=["POST"]), Route("/home", p.home_page),
        Route("/notices", p.notices_page), Route("/notices/{notice}", p.notice_page),
        Route("/notices/{notice}/confirm", p.confirm_notice, methods=["POST"]),
        Route("/processes/{process}/{event}", p.act, methods=["POST"]),
        Route("/choices", p.choices, methods=["POST"]), Route("/register", p.register, methods=["POST"]),
        Route("/dialogue", p.dialogue, methods=["POST"]), Route("/opt-out", p.opt_out, methods=["POST"]),
        Route("/contact", p.contact, methods=["POST"]), Route("/language", p.switch_language, methods=["POST"]),
        Route("/sign-out", p.sign_out, methods=["POST"]),
        Route("/confirm/{token}", p.confirm_link_page, methods=["GET"]),
        Route("/confirm/{token}", p.confirm_link, methods=["POST"]),
        Route("/sms/inbound", p.sms, methods=["POST"]), Route("/static/{name}", p.static),
    ]

    async def session_ended(request, exc):
        response = p.message(request, "signed_out", 401)
        response.delete_cookie(SESSION, path="/")
        return response

    async def must_set_pin(request, exc):
        return RedirectResponse("/pin", status_code=303)

    async def not_found(request, exc):
        return p.message(request, "not_found", 404, "not_found_help")

    async def refused(request, exc):
        # An engine refusal's words are for staff (they may name states or rules): the victim gets a
        # plain sentence in their language; nothing was written.
        return p.message(request, "refused", 409, "error_help")

    async def http_error(request, exc):
        key = {403: "forbidden", 404: "not_found"}.get(exc.status_code, "error")
        return p.message(request, key, exc.status_code, "not_found_help" if exc.status_code == 404 else None)

    async def crashed(request, exc):
        return p.message(request, "error", 500, "error_help")

    handlers = {portal.SessionEnded: session_ended, _MustSetPin: must_set_pin, NotFound: not_found,
                NotPermitted: refused, NotAllowed: refused, InvalidInput: refused, VcaseError: refused,
                HTTPException: http_error, Exception: crashed}
    return _Headers(Starlette(routes=routes, exception_handlers=handlers))


class _Headers:
    """ASGI middleware: the security headers on every answer, error pages included. An unexpected
    error has had its plain 500 page by then; it is logged by its type alone (a message or a
    traceback may quote victim data), and not passed on for the server to log in full."""

    def __init__(self, inner):
        self.inner = inner
        self.extra = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.inner(scope, receive, send)

        async def sending(message):
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [(k, v) for k, v in self.extra if k not in have]
            await send(message)

        try:
            await self.inner(scope, receive, sending)
        except Exception as exc:
            import logging

            logging.getLogger("vcase.portal").error(
                "unexpected %s answering a portal request (500); details are not logged", type(exc).__name__)


def serve(app, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the portal with uvicorn, without an access log (paths and addresses stay out of logs)."""
    import uvicorn

    uvicorn.run(create(app), host=host, port=port, access_log=False, log_level="warning",
                proxy_headers=True, forwarded_allow_ips="127.0.0.1", server_header=False)
