"""How values read on a page: times in the reader's zone, and registry values in words.

Every value a consumer reads has a Chinese and an English form. Times are shown in China
Standard Time on Chinese pages and in UTC on English pages (Babel's CLDR formats), always
with the UTC instant in `<time datetime>`. The registry's own transition reasons are a
fixed set of English phrases (they are part of signed log leaves, so they never change);
the catalogue below turns them into message ids. A reason an admin typed is shown as
written, marked with its language (WCAG 3.1.2) and labelled when it is not the page's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, format_timedelta
from markupsafe import Markup, escape

from public_site.i18n import HTML_LANG, N_, Language
from registry.certification.status import written_language

ZONES: Final[dict[str, tzinfo]] = {"zh": ZoneInfo("Asia/Shanghai"), "en": UTC}
"""The zone each language's pages show times in: Beijing time for Chinese readers."""
BABEL_LOCALES: Final = {"zh": "zh_CN", "en": "en_GB"}
ZONE_NAMES: Final = {"zh": N_("Beijing time"), "en": N_("UTC")}
RELATIVE_THRESHOLD: Final = 0.9
"""Babel rounds a delta up to the next unit from this share of it (its documented default
is 0.85; 0.9 keeps "29 days" from reading as "1 month")."""

MACHINE_REASONS: Final = (
    N_("granted at level %(level)s"),
    N_("level %(level)s on new evidence"),
    N_("renewed before expiry at level %(level)s"),
    N_("reinstated at level %(level)s on new evidence"),
    N_("reinstated at level %(level)s by the owner of the suspension"),
    N_("the causes holding the certificate changed"),
    N_("hold lifted"),
    N_("evidence does not meet every criterion yet"),
    N_("the latest audit failed"),
    N_("a criterion is no longer met"),
    N_("validity ended"),
    N_("validity ended without renewal"),
    N_("the periodic audit is overdue beyond the grace period"),
    N_("renewal window opened"),
    N_("revoked"),
    N_("suspended"),
)
"""Every reason `registry.certification.machine` writes, as message ids (a unit test
holds the two in step)."""
_MACHINE_PATTERNS: Final = tuple(
    (re.compile("^" + re.escape(m).replace(re.escape("%(level)s"), r"(?P<level>[1-3])") + "$"), m)
    for m in MACHINE_REASONS
)
ENTRY_TYPES: Final = {
    "vendor.application": N_("Membership application"),
    "vendor.application.approved": N_("Application approved"),
    "vendor.application.rejected": N_("Application rejected"),
    "key.rotated": N_("Signing key changed"),
    "key.revoked": N_("Signing key revoked"),
    "certification.attestation": N_("Signed self-attestation"),
    "certification.audit": N_("Third-party audit"),
    "auditor.accredited": N_("Auditor accredited"),
    "scheme.published": N_("Certification scheme published"),
    "certification.transition": N_("Certificate changed"),
    "blacklist.decision": N_("Blacklist decision"),
    "blacklist.rulebook.published": N_("Blacklist rulebook published"),
    "blacklist.terms.changed": N_("Blacklist procedure changed"),
    "blacklist.committee.changed": N_("Blacklist committee changed"),
    "blacklist.case.opened": N_("Blacklist case opened"),
    "blacklist.case.notified": N_("Blacklist case notice given"),
    "blacklist.case.answered": N_("Statement of defence received"),
    "blacklist.case.answer_window_closed": N_("Time to answer ended"),
    "blacklist.case.vote": N_("Committee vote"),
    "blacklist.case.recusal": N_("Committee member stood aside"),
    "blacklist.case.deadline_extended": N_("Decision deadline extended"),
    "blacklist.case.lapsed": N_("Case closed without a decision"),
    "blacklist.case.listed": N_("Listed on the blacklist"),
    "blacklist.case.appealed": N_("Appeal filed"),
    "blacklist.case.panel_drawn": N_("Appeal panel drawn"),
    "blacklist.case.appeal_decided": N_("Appeal decided"),
    "blacklist.case.repair_applied": N_("Credit repair requested"),
    "blacklist.case.repair_decided": N_("Credit repair decided"),
    "blacklist.case.expired": N_("Blacklist listing ended"),
    "blacklist.case.retracted": N_("Blacklist listing withdrawn"),
    "complaint.mediated": N_("Complaint mediated"),
    "complaint.sla_breach": N_("Complaint deadline missed"),
    "complaint.attached": N_("Complaint passed to a new member"),
    "vendor.domain.verified": N_("Domain proven"),
    "report.snapshot": N_("Monthly report snapshot signed"),
    "blacklist.snapshot": N_("Blacklist snapshot signed"),
}
"""Every `registry.transparency.entries.EntryType`, named for people (a unit test holds
the two in step)."""
AUDIT_RESULTS: Final = {"pass": N_("passed"), "fail": N_("failed")}
LANGUAGE_OF_ORIGINAL: Final = {"zh": N_("original in Chinese"), "en": N_("original in English")}


def machine_reason(reason: str) -> tuple[str, dict[str, str]] | None:
    """The message id and its variables when `reason` is the registry's own wording."""
    for pattern, message in _MACHINE_PATTERNS:
        if found := pattern.match(reason):
            return message, found.groupdict()
    return None


@dataclass(frozen=True)
class Wording:
    """One page's way of writing times and registry values, in its language at its `now`."""

    lang: Language
    now: datetime

    @property
    def zone(self) -> tzinfo:
        """The zone this page shows times in."""
        return ZONES[self.lang.code]

    @property
    def locale(self) -> str:
        """Babel's locale for this language."""
        return BABEL_LOCALES[self.lang.code]

    def _time(self, moment: datetime, text: str) -> Markup:
        instant = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return Markup('<time datetime="{}">{}</time>').format(instant, text)

    def date(self, moment: datetime | None) -> Markup:
        """The calendar date of `moment` in the page's zone (— when there is none)."""
        if moment is None:
            return Markup("—")
        local = moment.astimezone(self.zone).date()
        return self._time(moment, format_date(local, "long", locale=self.locale))

    def date_time(self, moment: datetime | None) -> Markup:
        """Date and minute of `moment` in the page's zone, the zone named."""
        if moment is None:
            return Markup("—")
        local = moment.astimezone(self.zone)
        text = self.lang.gettext("%(date)s %(time)s (%(zone)s)") % {
            "date": format_date(local.date(), "long", locale=self.locale),
            "time": format_time(local, "HH:mm", locale=self.locale),
            "zone": self.lang.gettext(ZONE_NAMES[self.lang.code]),
        }
        return self._time(moment, text)

    def relative(self, moment: datetime | None) -> str:
        """How far `moment` is from now, in words: "3天后", "in 3 days", "2个月前"."""
        if moment is None:
            return ""
        return format_timedelta(
            moment - self.now,
            granularity="day" if abs(moment - self.now) >= timedelta(days=1) else "minute",
            threshold=RELATIVE_THRESHOLD,
            add_direction=True,
            locale=self.locale,
        )

    def pick(self, zh: str | None, en: str | None) -> str:
        """The form of a bilingual value in this page's language (the other if it is empty)."""
        first, second = (zh, en) if self.lang.code == "zh" else (en, zh)
        return first or second or "—"

    def audit_result(self, result: str) -> str:
        """An audit's overall verdict in words."""
        return self.lang.gettext(AUDIT_RESULTS.get(result, result))

    def as_written(self, text: str) -> Markup:
        """Text a person typed (a search, a name), marked with the language of its script so
        a screen reader reads it in the right voice."""
        return Markup('<span lang="{}">{}</span>').format(HTML_LANG[written_language(text)], text)

    def entry_type(self, entry_type: str) -> str:
        """A log entry's type in words."""
        return self.lang.gettext(ENTRY_TYPES.get(entry_type, entry_type))

    def reason(self, reason: str | None, reason_lang: str | None) -> Markup:
        """A transition's reason: the registry's wording translated; a person's text as
        written, marked with its language and labelled when it is not the page's."""
        if not reason:
            return Markup("")
        if reason_lang is None and (known := machine_reason(reason)) is not None:
            message, variables = known
            return escape(self.lang.gettext(message) % variables)
        written = reason_lang or written_language(reason)
        if written == self.lang.code:
            return escape(reason)
        label = self.lang.gettext(LANGUAGE_OF_ORIGINAL.get(written, written))
        return Markup('<q lang="{}">{}</q> <span class="original-label">{}</span>').format(
            HTML_LANG.get(written, written),
            reason,
            self.lang.gettext("(%(label)s)") % {"label": label},
        )
