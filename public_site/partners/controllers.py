"""/partners: government partners sign in with their token or a signed login challenge,
see their scope's reports with finer cells, download them, and sign out.

A browser carries a session cookie, not a bearer token, so these routes are PUBLIC at
the guard (the sign-in form is for anyone) and every page and download behind the sign-in
resolves the cookie through `services.sessions.resume` for the partner role, refusing
anything else with 401. The session cookie is Secure, HttpOnly and SameSite=Strict, its
path /partners. Forms are protected against cross-site request forgery twice over: the
sign-in forms by a double-submit token (there is no session yet, so login CSRF needs
one), the forms of a session by its synchronizer token (`BrowserSessions.form_token`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Final

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import Provide
from litestar.params import CookieParameter, URLEncodedBody
from litestar.response import Redirect, Template

from attestations.envelope import Envelope
from attestations.errors import AttestationError
from public_site.controller import SitePageController
from public_site.form_token import FormTokens, FormTokensDep, provide_form_tokens
from public_site.i18n import N_
from public_site.site import ServicesDep, SiteDep, SiteRequest
from public_site.statistics.blacklist import DOWNLOAD_NAME as BLACKLIST_DOWNLOAD
from public_site.statistics.blacklist import (
    blacklist_download,
    blacklist_period,
    blacklist_section,
)
from public_site.statistics.controllers import (
    PARTNER_TABLES,
    PREFECTURE_TABLE,
    ReportMaker,
    TableName,
    downloads,
    page_context,
    page_reports,
    table_download,
)
from public_site.statistics.figures import PREFECTURE, count_chart, full_months
from registry.accounts.access import PUBLIC, opt
from registry.complaints.messages import Bilingual
from registry.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    InvalidSignature,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from registry.kernel import regions
from registry.kernel.caller import Caller, Role
from registry.reports.tables import Dimension, Report
from registry.services import Services

SESSION_COOKIE: Final = "partner_session"
SIGN_IN_CSRF_COOKIE: Final = "partner_csrf"
COOKIE_PATH: Final = "/partners"
PARTNER_ROLES: Final = frozenset({Role.GOVERNMENT_PARTNER})
MAX_ENVELOPE_CHARS: Final = 16_384

SessionCookie = Annotated[str | None, CookieParameter(name=SESSION_COOKIE)]
SignInCookie = Annotated[str | None, CookieParameter(name=SIGN_IN_CSRF_COOKIE)]
FormData = URLEncodedBody[dict[str, str]]

REFUSALS: Final = {
    "form": N_("The form expired or did not come from this site. Please try again."),
    "token": N_("This token was not accepted: it is unknown, expired or revoked."),
    "role": N_("Only government partners can sign in here."),
    "scope": N_("This partner account has no region or association to report on yet."),
    "key": N_("No active key with this id is registered."),
    "envelope": N_("The signed challenge could not be read: paste the whole envelope."),
    "signature": N_("The signature does not match the challenge; ask for a new one."),
    "busy": N_("Too many attempts from this address. Please wait a few minutes."),
    "session": N_("Your session has ended. Please sign in again."),
}
"""Why a sign-in was refused, as the partner reads it (translated in the template)."""


def _session_cookie(value: str, max_age: int) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        secure=True,
        samesite="strict",
    )


def _cleared_session() -> Cookie:
    return _session_cookie("", 0)


async def signed_in(services: Services, cookie: str | None) -> Caller | None:
    """The partner behind the session cookie; None without a cookie, AuthenticationFailed
    or PermissionDenied for one that is no (longer a) partner session."""
    if not cookie:
        return None
    return await services.sessions.resume(cookie, roles=PARTNER_ROLES)


async def _session_or_refusal(
    site: SiteRequest, services: Services, form_tokens: FormTokens, cookie: str | None
) -> Caller | Template | None:
    """The partner of the session cookie; None without one; the sign-in page to answer
    with for a cookie that is no live session (401) or not a partner's (403)."""
    try:
        return await signed_in(services, cookie)
    except AuthenticationFailed:
        return sign_in_page(
            site, form_tokens, refusal="session", status_code=401, clear_session=True
        )
    except PermissionDenied:
        return sign_in_page(site, form_tokens, refusal="role", status_code=403, clear_session=True)


def sign_in_page(
    site: SiteRequest,
    form_tokens: FormTokens,
    *,
    refusal: str | None = None,
    status_code: int = 200,
    clear_session: bool = False,
) -> Template:
    """The sign-in forms with a fresh double-submit token (and its cookie)."""
    token = form_tokens.issue()
    page = site.page(
        "partners/sign_in.html",
        status_code=status_code,
        csrf_token=token.value,
        refusal=REFUSALS.get(refusal or ""),
    )
    page.cookies.append(
        Cookie(
            key=SIGN_IN_CSRF_COOKIE,
            value=token.value,
            max_age=token.max_age_seconds,
            path=COOKIE_PATH,
            httponly=True,
            secure=token.secure,
            samesite="strict",
        )
    )
    if clear_session:
        page.cookies.append(_cleared_session())
    page.headers["Cache-Control"] = "no-store"
    return page


def _form_is_ours(form_tokens: FormTokens, cookie: str | None, field: str | None) -> bool:
    try:
        form_tokens.check(cookie, field)
    except Bilingual:
        return False
    return True


async def _start(site: SiteRequest, services: Services, opened: Any) -> Redirect:
    """Set the session cookie and go to the dashboard (303: the browser GETs it)."""
    lifetime = int((opened.expires_at - site.now).total_seconds())
    return Redirect(
        f"{COOKIE_PATH}?lang={site.lang.code}",
        status_code=303,
        cookies=[_session_cookie(opened.token, lifetime)],
        headers={"Cache-Control": "no-store"},
    )


class PartnerSignInController(SitePageController):
    """Sign in (token or signed challenge) and sign out."""

    path = COOKIE_PATH
    dependencies = {
        **SitePageController.dependencies,
        "form_tokens": Provide(provide_form_tokens, sync_to_thread=False),
    }

    @post("/sign-in", opt=opt(PUBLIC), status_code=303)
    async def sign_in(
        self,
        site: SiteDep,
        services: ServicesDep,
        form_tokens: FormTokensDep,
        data: FormData,
        csrf: SignInCookie = None,
    ) -> Template | Redirect:
        """Exchange a partner's bearer token for a session (the token itself is not kept)."""
        if not _form_is_ours(form_tokens, csrf, data.get("csrf_token")):
            return sign_in_page(site, form_tokens, refusal="form", status_code=403)
        try:
            opened = await services.sessions.sign_in_with_token(
                data.get("token", ""), roles=PARTNER_ROLES
            )
        except AuthenticationFailed:
            return sign_in_page(site, form_tokens, refusal="token", status_code=401)
        except PermissionDenied:
            return sign_in_page(site, form_tokens, refusal="role", status_code=403)
        return await _start(site, services, opened)

    @post("/challenge", opt=opt(PUBLIC), status_code=200)
    async def challenge(  # noqa: PLR0917 - Litestar injects each by name
        self,
        site: SiteDep,
        services: ServicesDep,
        form_tokens: FormTokensDep,
        request: Request[Any, Any, Any],
        data: FormData,
        csrf: SignInCookie = None,
    ) -> Template:
        """A one-time login challenge for the partner's registered key, to sign offline."""
        if not _form_is_ours(form_tokens, csrf, data.get("csrf_token")):
            return sign_in_page(site, form_tokens, refusal="form", status_code=403)
        key_id = data.get("key_id", "").strip().lower()
        try:
            issued = await services.accounts.issue_challenge(
                key_id, client=request.client.host if request.client else "unknown"
            )
        except NotFound:
            return sign_in_page(site, form_tokens, refusal="key", status_code=404)
        except RateLimited:
            return sign_in_page(site, form_tokens, refusal="busy", status_code=429)
        page = sign_in_page(site, form_tokens)
        page.template_name = "partners/challenge.html"
        page.context.update(
            challenge=issued.payload.decode("utf-8"),
            payload_type=issued.payload_type,
            key_id=issued.key_id,
            expires_at=issued.expires_at,
        )
        return page

    @post("/sign-in/key", opt=opt(PUBLIC), status_code=303)
    async def sign_in_with_key(
        self,
        site: SiteDep,
        services: ServicesDep,
        form_tokens: FormTokensDep,
        data: FormData,
        csrf: SignInCookie = None,
    ) -> Template | Redirect:
        """Exchange a signed challenge (a DSSE envelope, pasted) for a session."""
        if not _form_is_ours(form_tokens, csrf, data.get("csrf_token")):
            return sign_in_page(site, form_tokens, refusal="form", status_code=403)
        text = data.get("envelope", "")
        try:
            envelope = Envelope.from_json(text[:MAX_ENVELOPE_CHARS].encode("utf-8"))
        except AttestationError:
            return sign_in_page(site, form_tokens, refusal="envelope", status_code=400)
        try:
            opened = await services.sessions.sign_in_with_key(envelope, roles=PARTNER_ROLES)
        except (InvalidSignature, InvalidInput, Conflict, AuthenticationFailed):
            return sign_in_page(site, form_tokens, refusal="signature", status_code=401)
        except PermissionDenied:
            return sign_in_page(site, form_tokens, refusal="role", status_code=403)
        return await _start(site, services, opened)

    @post("/sign-out", opt=opt(PUBLIC), status_code=303)
    async def sign_out(
        self,
        site: SiteDep,
        services: ServicesDep,
        form_tokens: FormTokensDep,
        data: FormData,
        session: SessionCookie = None,
    ) -> Template | Redirect:
        """End the session (its token is revoked) and forget the cookie."""
        try:
            caller = await signed_in(services, session)
        except (AuthenticationFailed, PermissionDenied):
            caller = None
        if caller is None:
            return sign_in_page(
                site, form_tokens, refusal="session", status_code=401, clear_session=True
            )
        try:
            services.sessions.check_form_token(caller, data.get("form_token"))
        except PermissionDenied:
            return await dashboard_page(site, services, caller, refusal="form", status_code=403)
        await services.sessions.sign_out(caller)
        return Redirect(
            f"{COOKIE_PATH}?lang={site.lang.code}",
            status_code=303,
            cookies=[_cleared_session()],
            headers={"Cache-Control": "no-store"},
        )


PARTNER_FORMATS: Final = ("csv", "xlsx", "json")


def partner_report_maker(
    services: Services, now: datetime, caller: Caller, output: str
) -> ReportMaker:
    """Reports inside the partner's scope with the partners' finer cells; each one is
    recorded in the access log (who, what, when, in which format)."""

    async def make(kpis: Sequence[str], months: int, dimensions: Sequence[Dimension]) -> Report:
        return await services.reports.partner_report(
            caller,
            kpis=kpis,
            period=full_months(now, months),
            dimensions=dimensions,
            output=output,
        )

    return make


async def dashboard_page(
    site: SiteRequest,
    services: Services,
    caller: Caller,
    *,
    refusal: str | None = None,
    status_code: int = 200,
) -> Template:
    """The partner's dashboard: its scope, its reports, the downloads, sign-out."""
    scope = await services.reports.partner_scope(caller)
    make = partner_report_maker(services, site.now, caller, "html")
    reports = await page_reports(make)
    figures = await services.reports.partner_blacklist_figures(
        caller, blacklist_period(site.now), output="html"
    )
    by_prefecture = await make(
        PREFECTURE_TABLE.kpis, PREFECTURE_TABLE.months, PREFECTURE_TABLE.dimensions
    )
    page = site.page(
        "partners/dashboard.html",
        status_code=status_code,
        form_token=services.sessions.form_token(caller),
        scope_regions=[
            found.name(site.lang.code)
            for code in sorted(scope.regions)
            if (found := regions.region(code)) is not None
        ],
        by_prefecture=count_chart(
            by_prefecture,
            site.lang,
            chart_id="complaints-by-prefecture",
            title=site.gettext(PREFECTURE_TABLE.title),
            heading=site.gettext(PREFECTURE),
        ),
        refusal=REFUSALS.get(refusal or ""),
        **page_context(reports, site.lang),
        blacklist=blacklist_section(figures, site.lang),
        downloads=downloads(PARTNER_TABLES, f"{COOKIE_PATH}/data", PARTNER_FORMATS, site.lang),
    )
    page.headers["Cache-Control"] = "no-store"
    return page


class PartnerDashboardController(SitePageController):
    """The dashboard behind the sign-in (the sign-in page for anyone without a session)."""

    path = COOKIE_PATH
    dependencies = {
        **SitePageController.dependencies,
        "form_tokens": Provide(provide_form_tokens, sync_to_thread=False),
    }

    @get("/", opt=opt(PUBLIC))
    async def dashboard(
        self,
        site: SiteDep,
        services: ServicesDep,
        form_tokens: FormTokensDep,
        session: SessionCookie = None,
    ) -> Template:
        """The partner's reports when signed in; the sign-in forms otherwise."""
        caller = await _session_or_refusal(site, services, form_tokens, session)
        if isinstance(caller, Template):
            return caller
        if caller is None:
            return sign_in_page(site, form_tokens)
        try:
            return await dashboard_page(site, services, caller)
        except PermissionDenied:
            return sign_in_page(site, form_tokens, refusal="scope", status_code=403)

    @get("/data/{name:str}", opt=opt(PUBLIC))
    async def data(
        self,
        site: SiteDep,
        services: ServicesDep,
        form_tokens: FormTokensDep,
        name: TableName,
        session: SessionCookie = None,
    ) -> Response[bytes] | Template:
        """One of the dashboard's tables as CSV, XLSX or JSON, inside the partner's scope
        (PUBLIC at the guard: the session cookie is checked here, 401 without one)."""
        caller = await _session_or_refusal(site, services, form_tokens, session)
        if isinstance(caller, Template):
            return caller
        if caller is None:
            return sign_in_page(site, form_tokens, refusal="session", status_code=401)
        stem, _, extension = name.partition(".")
        make = partner_report_maker(services, site.now, caller, extension)
        try:
            if stem == BLACKLIST_DOWNLOAD:
                figures = await services.reports.partner_blacklist_figures(
                    caller, blacklist_period(site.now), output=extension
                )
                return blacklist_download(figures, extension, site.lang.code)
            return await table_download(make, PARTNER_TABLES, name, PARTNER_FORMATS, site.lang.code)
        except PermissionDenied:
            return sign_in_page(site, form_tokens, refusal="scope", status_code=403)
