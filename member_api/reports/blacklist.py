"""/api/v1/blacklist/figures and /api/v1/reports/partner/blacklist: the blacklist's own
figures per association and tier (public records, nothing suppressed), in JSON and CSV."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from member_api.contract import problems
from member_api.deps import CallerDep, ServicesDep
from member_api.reports.controllers import (
    CSV_MEDIA_TYPE,
    PARTNERS,
    Language,
    NamesOut,
    PeriodOut,
    PeriodText,
    UntilText,
)
from registry.accounts.access import PUBLIC, opt
from registry.reports.blacklist import BlacklistFigures, figures_csv
from registry.reports.tables import Period


class FigureLabelOut(msgspec.Struct):
    """An association or a tier ("all" for a margin)."""

    key: str
    name: NamesOut


class FigureOut(msgspec.Struct):
    """A figure's key and name."""

    key: str
    name: NamesOut


class FigureRowOut(msgspec.Struct):
    """Every figure of one association × tier; medians and the share are null where no
    case was decided, no repair granted or no appeal decided."""

    association: FigureLabelOut
    tier: FigureLabelOut
    opened: int
    listed: int
    not_listed: int
    lapsed: int
    decision_median_days: float | None
    appeals: int
    appeals_overturned: int
    overturned_share: float | None
    repairs_applied: int
    repairs_granted: int
    delist_median_days: float | None
    decisions_timed: int


class FigureScopeOut(msgspec.Struct):
    """The associations covered (empty: all)."""

    associations: list[int]


class BlacklistFiguresOut(msgspec.Struct):
    """The list's figures for a period: association × tier, the margins and the total."""

    period: PeriodOut
    scope: FigureScopeOut
    suppression: str
    figures: list[FigureOut]
    rows: list[FigureRowOut]
    by_association: list[FigureRowOut]
    by_tier: list[FigureRowOut]
    total: FigureRowOut
    generated_at: str


def figures_out(figures: BlacklistFigures) -> BlacklistFiguresOut:
    """The figures as the API's answer."""
    return msgspec.convert(figures.as_data(), BlacklistFiguresOut)


def _csv(figures: BlacklistFigures, lang: str) -> Response[bytes]:
    return Response(
        figures_csv(figures, lang),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="blacklist-figures.csv"'},
    )


class BlacklistFiguresController(Controller):
    """The blacklist's own figures: public, and inside a partner's associations."""

    tags = ["reports"]

    @get(
        "/api/v1/blacklist/figures",
        opt=opt(PUBLIC),
        responses=problems(HTTP_422_UNPROCESSABLE_ENTITY),
    )
    async def public(
        self, services: ServicesDep, period: PeriodText, until: UntilText = None
    ) -> BlacklistFiguresOut:
        """The blacklist's own figures per association and tier, with totals.

        Cases opened, listed and not listed, median days to decision, appeals and the
        share overturned, repairs applied and granted, median days to delisting after a
        repair application."""
        return figures_out(await services.reports.blacklist_figures(Period.parse(period, until)))

    @get(
        "/api/v1/blacklist/figures.csv",
        opt=opt(PUBLIC),
        media_type=CSV_MEDIA_TYPE,
        responses=problems(HTTP_422_UNPROCESSABLE_ENTITY),
    )
    async def public_csv(
        self,
        services: ServicesDep,
        period: PeriodText,
        until: UntilText = None,
        lang: Language = "zh",
    ) -> Response[bytes]:
        """The blacklist's own figures as CSV (UTF-8 with BOM).

        One line per association × tier, per association, per tier, and the total."""
        return _csv(await services.reports.blacklist_figures(Period.parse(period, until)), lang)

    @get(
        "/api/v1/reports/partner/blacklist",
        opt=opt(PARTNERS),
        responses=problems(HTTP_422_UNPROCESSABLE_ENTITY),
    )
    async def partner(
        self,
        services: ServicesDep,
        caller: CallerDep,
        period: PeriodText,
        until: UntilText = None,
    ) -> BlacklistFiguresOut:
        """The blacklist's figures inside the partner's associations, logged.

        A partner scoped by region only sees every association (cases have no region)."""
        figures = await services.reports.partner_blacklist_figures(
            caller, Period.parse(period, until)
        )
        return figures_out(figures)

    @get(
        "/api/v1/reports/partner/blacklist.csv",
        opt=opt(PARTNERS),
        media_type=CSV_MEDIA_TYPE,
        responses=problems(HTTP_422_UNPROCESSABLE_ENTITY),
    )
    async def partner_csv(
        self,
        services: ServicesDep,
        caller: CallerDep,
        period: PeriodText,
        until: UntilText = None,
        lang: Language = "zh",
    ) -> Response[bytes]:
        """The partner's blacklist figures as CSV (UTF-8 with BOM), logged."""
        figures = await services.reports.partner_blacklist_figures(
            caller, Period.parse(period, until), output="csv"
        )
        return _csv(figures, lang)


__all__ = ["BlacklistFiguresController"]
