"""/complaints/new and /complaints/track: the consumer's pages, plain HTML forms, no JavaScript.

Every form carries a CSRF token (double-submit: the same HMAC-signed value in a cookie
and a hidden field) and the filing form a honeypot field people never see. Tracking
pages are PUBLIC at the guard; the tracking code and secret are checked in the service.
Pages showing a secret are `Cache-Control: no-store`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final

from litestar import Request, get, post
from litestar.di import Provide
from litestar.params import FromPath, QueryParameter, URLEncodedBody
from litestar.response import Template

from public_site.controller import SitePageController
from public_site.form_token import (
    CsrfCookie,
    FormTokens,
    FormTokensDep,
    provide_form_tokens,
    with_form_token,
)
from public_site.i18n import N_
from public_site.site import ServicesDep, SiteDep, SiteRequest
from registry.accounts.access import PUBLIC, opt
from registry.complaints.figures import ComplaintFigures
from registry.complaints.filing import ComplaintSubmission
from registry.complaints.messages import (
    CATEGORY_NAMES,
    FIELD_NAMES,
    FILED,
    HONEYPOT,
    PROVINCES,
    STATUS_NAMES,
    SUBJECT_KIND_NAMES,
    Bilingual,
    ComplaintRefused,
    Text,
)
from registry.complaints.models import Complaint, ComplaintStatus
from registry.errors import NotFound
from registry.services import Services

HONEYPOT_FIELD: Final = "website"
SEARCH_RESULTS: Final = 10
FORM_FIELDS: Final = (
    "vendor",
    "subject_kind",
    "subject_value",
    "product",
    "category",
    "description",
    "desired_remedy",
    "region",
    "occurred_on",
    "contact_name",
    "contact_phone",
    "contact_email",
)
ACTIONS: Final = ("message", "accept", "reject", "rate", "erase")
ACTORS: Final = {
    "consumer": N_("You"),
    "vendor": N_("The vendor"),
    "mediator": N_("Mediator"),
    "admin": N_("Administrator"),
    "system": N_("Registry"),
}
"""Who wrote a thread entry, as the consumer reads it (translated in the template)."""
EVENTS: Final = {
    "message": N_("message"),
    "contact_revealed": N_("contact disclosed"),
    "contact_erased": N_("contact erased"),
    "duplicate_merged": N_("duplicate merged"),
    "vendor_attached": N_("passed to the member vendor it concerns"),
}
"""Thread entries other than transitions (translated in the template)."""
FormData = URLEncodedBody[dict[str, str]]


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The client's address, for the per-IP rate limit (only a keyed hash is stored).

    Resolved once per request by `registry.client_address` (trusted proxies only).
    """
    return request.client.host if request.client else "unknown"


def translated(texts: Mapping[str, Text], code: str) -> dict[str, str]:
    """A catalogue in one language."""
    return {key: text.in_language(code) for key, text in texts.items()}


def check_honeypot(value: str | None) -> None:
    """People never see the honeypot field; anything in it was typed by a bot."""
    if value:
        raise ComplaintRefused(HONEYPOT)


def figures_context(figures: ComplaintFigures) -> dict[str, Any]:
    """What `complaints/_figures.html` needs: include it from the vendor profile with this
    merged into the page context."""
    return {"complaint_figures": figures}


def submission_from(data: Mapping[str, str], language: str) -> ComplaintSubmission:
    """The service input from the posted form (a checkbox is sent only when ticked)."""
    values = {name: data.get(name, "") for name in FORM_FIELDS}
    return ComplaintSubmission(
        **values, consent_to_share=data.get("consent_to_share") == "yes", language=language
    )


class ComplaintPagesController(SitePageController):
    """The bilingual complaint form and the consumer's tracking page."""

    path = "/complaints"
    dependencies = {
        **SitePageController.dependencies,
        "form_tokens": Provide(provide_form_tokens, sync_to_thread=False),
    }

    @get("/new", opt=opt(PUBLIC))
    async def new(
        self,
        site: SiteDep,
        services: ServicesDep,
        form_tokens: FormTokensDep,
        q: Annotated[str | None, QueryParameter(max_length=200)] = None,
        vendor: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> Template:
        """The empty form; `?q=` searches member vendors, `?vendor=` preselects one."""
        return await _form_page(site, services, form_tokens, {"vendor": vendor or ""}, {}, q=q)

    @post("/new", opt=opt(PUBLIC), status_code=200)
    async def submit(
        self,
        *,
        site: SiteDep,
        services: ServicesDep,
        form_tokens: FormTokensDep,
        request: Request[Any, Any, Any],
        data: FormData,
        csrf: CsrfCookie = None,
    ) -> Template:
        """File the complaint, or show the form again with every problem named."""
        language = site.lang.code
        try:
            form_tokens.check(csrf, data.get("csrf_token"))
            check_honeypot(data.get(HONEYPOT_FIELD))
            filed = await services.complaints.consumers.file(
                submission_from(data, language), client_ip=client_ip(request)
            )
        except Bilingual as exc:
            detail, fields = exc.localised(language)
            status = exc.status_override or (404 if isinstance(exc, NotFound) else 422)
            return await _form_page(
                site, services, form_tokens, data, fields, detail=detail, status_code=status
            )
        page = site.page(
            "complaints/filed.html",
            filed=filed,
            message=FILED.in_language(language),
        )
        page.headers["Cache-Control"] = "no-store"
        return page

    @get("/track", opt=opt(PUBLIC))
    async def track_form(
        self,
        site: SiteDep,
        form_tokens: FormTokensDep,
        code: Annotated[str | None, QueryParameter(max_length=20)] = None,
    ) -> Template:
        """Ask for the tracking code and the secret."""
        return with_form_token(
            site.page(
                "complaints/track.html",
                code=code or "",
                error=None,
                csrf_token=(token := form_tokens.issue()).value,
            ),
            token,
        )

    @post("/track", opt=opt(PUBLIC), status_code=200)
    async def track(
        self,
        site: SiteDep,
        services: ServicesDep,
        form_tokens: FormTokensDep,
        data: FormData,
        csrf: CsrfCookie = None,
    ) -> Template:
        """Show the complaint (PUBLIC at the guard; code and secret checked in the service)."""
        return await _act(site, services, form_tokens, data, csrf, action=None)

    @post("/track/{action:str}", opt=opt(PUBLIC), status_code=200)
    async def act(
        self,
        *,
        site: SiteDep,
        services: ServicesDep,
        form_tokens: FormTokensDep,
        action: FromPath[str],
        data: FormData,
        csrf: CsrfCookie = None,
    ) -> Template:
        """Reply, accept, reject, rate or erase (PUBLIC at the guard; secret checked)."""
        return await _act(site, services, form_tokens, data, csrf, action=action)


async def _form_page(
    site: SiteRequest,
    services: Services,
    form_tokens: FormTokens,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    *,
    q: str | None = None,
    detail: str | None = None,
    status_code: int = 200,
) -> Template:
    code = site.lang.code
    token = form_tokens.issue()
    found = (await services.membership.directory(q, 0, SEARCH_RESULTS)).items if q else []
    chosen = None
    if values.get("vendor"):
        try:
            chosen = await services.membership.vendor(values["vendor"])
        except NotFound:
            chosen = None
    page = site.page(
        "complaints/new.html",
        status_code=status_code,
        values=dict(values),
        errors=dict(errors),
        detail=detail,
        q=q or "",
        found=found,
        chosen=chosen,
        categories=translated(CATEGORY_NAMES, code),
        provinces=translated(PROVINCES, code),
        subject_kinds={
            k: v for k, v in translated(SUBJECT_KIND_NAMES, code).items() if k != "vendor"
        },
        csrf_token=token.value,
        honeypot=HONEYPOT_FIELD,
        labels=translated(FIELD_NAMES, code),
    )
    return with_form_token(page, token)


async def _act(
    site: SiteRequest,
    services: Services,
    form_tokens: FormTokens,
    data: Mapping[str, str],
    csrf: str | None,
    *,
    action: str | None,
) -> Template:
    """Run one consumer action (or none), then show the complaint as it now stands."""
    language = site.lang.code
    code, secret = data.get("tracking_code", ""), data.get("secret", "")
    notice: str | None = None
    error: str | None = None
    complaint: Complaint | None = None
    try:
        form_tokens.check(csrf, data.get("csrf_token"))
        complaint = await _run(services, action, code, secret, data)
        notice = site.lang.gettext("Done") if action else None
    except Bilingual as exc:
        error, fields = exc.localised(language)
        # This page has no field to mark: name what is wrong (the score) in the notice.
        error = "; ".join(fields.values()) or error
        if action is not None and not isinstance(exc, NotFound):
            try:
                complaint = await services.complaints.consumers.view(code, secret)
            except Bilingual:
                complaint = None
    token = form_tokens.issue()
    if complaint is None:
        page = site.page(
            "complaints/track.html",
            status_code=404 if error else 200,
            code=code,
            error=error,
            csrf_token=token.value,
        )
        return with_form_token(page, token)
    page = site.page(
        "complaints/complaint.html",
        status_code=200 if error is None else 409,
        complaint=complaint,
        secret=secret,
        notice=notice,
        error=error,
        status_names=translated(STATUS_NAMES, language),
        categories=translated(CATEGORY_NAMES, language),
        actors=ACTORS,
        events=EVENTS,
        can_answer=complaint.status is ComplaintStatus.RESOLUTION_PROPOSED,
        can_message=complaint.closed_at is None,
        can_rate=complaint.closed_at is not None and complaint.rating is None,
        can_erase=complaint.closed_at is not None and complaint.contact_sealed is not None,
        csrf_token=token.value,
    )
    return with_form_token(page, token)


def score_from(raw: str) -> int:
    """The posted score, or 0 (refused as out of range) for anything but one or two ASCII
    digits: `str.isdigit` also admits "²" and "٣", which `int` rejects or reads as 3."""
    value = raw.strip()
    if 0 < len(value) <= 2 and value.isascii() and value.isdigit():
        return int(value)
    return 0


async def _run(
    services: Services, action: str | None, code: str, secret: str, data: Mapping[str, str]
) -> Complaint:
    complaints = services.complaints.consumers
    if action is None:
        return await complaints.view(code, secret)
    if action == "message":
        return await complaints.message(code, secret, data.get("body", ""))
    if action == "accept":
        return await complaints.accept(code, secret)
    if action == "reject":
        return await complaints.reject(code, secret, data.get("reason", ""))
    if action == "rate":
        return await complaints.rate(
            code, secret, score_from(data.get("score", "")), data.get("comment", "")
        )
    if action == "erase":
        return await complaints.erase_contact(code, secret)
    raise NotFound(f"no complaint action {action!r}; use one of {', '.join(ACTIONS)}")
