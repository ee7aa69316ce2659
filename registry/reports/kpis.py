"""The programme's KPIs and the 12315-style counts, as versioned data.

A definition never changes in place: a change of numerator, denominator or target is a
new `version`, and every report and snapshot names the versions it computed, so a
figure read next year still says what it measured. The README ("Reports and
statistics") states each definition in words; `tests/unit/test_reports_kpis.py` keeps the
two in step.

Every complaint counter is attributed to the month the complaint was *filed* (a cohort):
"satisfaction in March" is the share of satisfied ratings among the rated complaints
filed in March, whenever the rating came. A period's figures therefore settle as its
complaints finish, and a signed monthly snapshot freezes them as they stood.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class KpiKind(StrEnum):
    """What a KPI's cell holds."""

    COUNT = "count"
    """A number of events: summed over cells, with row, column and grand totals."""
    RATE = "rate"
    """numerator / denominator, shown with its Wilson 95% interval."""


class Direction(StrEnum):
    """Which way is better."""

    HIGHER = "higher_is_better"
    LOWER = "lower_is_better"
    NEUTRAL = "neutral"


class TargetMeasure(StrEnum):
    """What a target compares."""

    VALUE = "value"
    """The KPI's value in the period itself."""
    CHANGE_VS_BASELINE = "change_vs_baseline"
    """(value − baseline) / baseline, the baseline being the same period a year earlier
    unless the report names another."""
    SPEED_CHANGE_VS_BASELINE = "speed_change_vs_baseline"
    """baseline median hours to first response / median hours − 1: how much faster
    complaints are answered (+50% means answered in two thirds of the time)."""


@dataclass(frozen=True, slots=True)
class Target:
    """The programme's goal for a KPI: `measure` `op` `value` (op is ">=" or "<=")."""

    measure: TargetMeasure
    op: str
    value: float

    def met(self, figure: float | None) -> bool | None:
        """Whether `figure` meets the target; None when there is no figure to judge."""
        if figure is None:
            return None
        return figure >= self.value if self.op == ">=" else figure <= self.value


@dataclass(frozen=True, slots=True)
class KpiDefinition:
    """One KPI: its identity, names, how it is computed and what the programme aims for."""

    id: str
    version: int
    name_zh: str
    name_en: str
    kind: KpiKind
    numerator: tuple[str, ...]
    """Counters (columns of the rollup tables) summed into the numerator, or the count."""
    denominator: str | None
    direction: Direction
    target: Target | None
    definition_zh: str
    definition_en: str

    def name(self, language: str) -> str:
        """The KPI's name in `language`."""
        return self.name_en if language.startswith("en") else self.name_zh

    def as_data(self) -> dict[str, object]:
        """The definition as it is written into every report and snapshot."""
        return {
            "id": self.id,
            "version": self.version,
            "name": {"zh": self.name_zh, "en": self.name_en},
            "kind": self.kind.value,
            "numerator": list(self.numerator),
            "denominator": self.denominator,
            "direction": self.direction.value,
            "target": None
            if self.target is None
            else {
                "measure": self.target.measure.value,
                "op": self.target.op,
                "value": self.target.value,
            },
            "definition": {"zh": self.definition_zh, "en": self.definition_en},
        }


KPIS: tuple[KpiDefinition, ...] = (
    KpiDefinition(
        id="timeliness",
        version=1,
        name_zh="投诉处理及时性",
        name_en="Complaint handling timeliness",
        kind=KpiKind.RATE,
        numerator=("answered_in_clock",),
        denominator="forwarded",
        direction=Direction.HIGHER,
        target=Target(TargetMeasure.SPEED_CHANGE_VS_BASELINE, ">=", 0.5),
        definition_zh=(
            "已转交企业的投诉中，首次回应在所属协会首次回应时限内的比例；另报首次回应"
            "小时数中位数。目标：与基准期相比，回应速度提高 50%（基准期中位数 ÷ 本期中位数 − 1 ≥ 50%）。"
        ),
        definition_en=(
            "Share of complaints forwarded to the vendor whose first response came within "
            "the association's first-response clock; with the median hours to first "
            "response. Target: answered 50% faster than in the baseline period (baseline "
            "median ÷ median − 1 ≥ 50%)."
        ),
    ),
    KpiDefinition(
        id="satisfaction",
        version=1,
        name_zh="消费者满意度",
        name_en="Consumer satisfaction",
        kind=KpiKind.RATE,
        numerator=("satisfied",),
        denominator="rated",
        direction=Direction.HIGHER,
        target=Target(TargetMeasure.VALUE, ">=", 0.8),
        definition_zh="已评价的投诉中，评分为 4 或 5（满分 5）的比例。目标：≥ 80%。",
        definition_en="Share of rated complaints rated 4 or 5 (of 5). Target: ≥ 80%.",
    ),
    KpiDefinition(
        id="compliance",
        version=1,
        name_zh="合规率",
        name_en="Compliance rate",
        kind=KpiKind.RATE,
        numerator=("compliant",),
        denominator="certified",
        direction=Direction.HIGHER,
        target=Target(TargetMeasure.VALUE, ">=", 0.9),
        definition_zh=(
            "期末处于认证有效状态的企业中，最近一次自我声明满足全部准则、且最近一次审核"
            "无严重不符合项的比例。目标：≥ 90%。"
        ),
        definition_en=(
            "Share of vendors certified at the end of the period whose latest attestation "
            "meets every criterion and whose latest audit found no major nonconformity. "
            "Target: ≥ 90%."
        ),
    ),
    KpiDefinition(
        id="leak_incidents",
        version=1,
        name_zh="信息泄露事件",
        name_en="Information-leak incidents",
        kind=KpiKind.COUNT,
        numerator=("leak_confirmed", "security_incidents"),
        denominator=None,
        direction=Direction.LOWER,
        target=Target(TargetMeasure.CHANGE_VS_BASELINE, "<=", -0.3),
        definition_zh=(
            "经证实的个人信息泄露投诉（类别为个人信息泄露，且经调解成立或企业承认）加上"
            "审核报告的安全事件数。目标：比基准期减少 30%。"
        ),
        definition_en=(
            "Confirmed personal-information-leak complaints (category personal-information "
            "leak, upheld by a mediator or conceded by the vendor) plus security incidents "
            "reported by audits. Target: 30% fewer than in the baseline period."
        ),
    ),
    KpiDefinition(
        id="first_response_24h",
        version=1,
        name_zh="24 小时内首次回应率",
        name_en="First response within 24 h",
        kind=KpiKind.RATE,
        numerator=("answered_24h",),
        denominator="answered",
        direction=Direction.HIGHER,
        target=Target(TargetMeasure.VALUE, ">=", 0.95),
        definition_zh=(
            "已获首次回应的投诉中，从转交企业到首次回应不超过 24 小时的比例。"
            "目标：≥ 95%（售后响应缩短至 24 小时内）。"
        ),
        definition_en=(
            "Share of answered complaints whose first response came at most 24 hours after "
            "the complaint was forwarded to the vendor. Target: ≥ 95% (after-sales "
            "response within 24 hours)."
        ),
    ),
    KpiDefinition(
        id="renewal",
        version=1,
        name_zh="认证续期率",
        name_en="Certificate renewal rate",
        kind=KpiKind.RATE,
        numerator=("renewed_before_expiry",),
        denominator="due",
        direction=Direction.HIGHER,
        target=Target(TargetMeasure.CHANGE_VS_BASELINE, ">=", 0.15),
        definition_zh=("本期到期的认证中，在到期前完成续期的比例。目标：比基准期提高 15%。"),
        definition_en=(
            "Share of certificates falling due in the period that were renewed before they "
            "expired. Target: 15% higher than in the baseline period."
        ),
    ),
    KpiDefinition(
        id="complaints",
        version=1,
        name_zh="投诉量",
        name_en="Complaints filed",
        kind=KpiKind.COUNT,
        numerator=("filed",),
        denominator=None,
        direction=Direction.NEUTRAL,
        target=None,
        definition_zh="本期提交的投诉数（合并到先前投诉的重复投诉不计）。",
        definition_en=(
            "Complaints filed in the period (a duplicate joined into an earlier complaint "
            "is not counted)."
        ),
    ),
    KpiDefinition(
        id="resolution_rate",
        version=1,
        name_zh="解决率",
        name_en="Resolution rate",
        kind=KpiKind.RATE,
        numerator=("resolved",),
        denominator="filed",
        direction=Direction.HIGHER,
        target=None,
        definition_zh="本期提交的投诉中，由消费者接受企业方案而解决的比例。",
        definition_en=(
            "Share of the period's complaints resolved by the consumer accepting the "
            "vendor's proposal."
        ),
    ),
    KpiDefinition(
        id="mediation_rate",
        version=1,
        name_zh="调解率",
        name_en="Mediation rate",
        kind=KpiKind.RATE,
        numerator=("escalated",),
        denominator="filed",
        direction=Direction.LOWER,
        target=None,
        definition_zh="本期提交的投诉中，升级到协会调解的比例（消费者拒绝方案或超时）。",
        definition_en=(
            "Share of the period's complaints escalated to the association's mediation "
            "(proposal rejected or a clock breached)."
        ),
    ),
    KpiDefinition(
        id="substantiated_share",
        version=1,
        name_zh="投诉成立比例",
        name_en="Substantiated share",
        kind=KpiKind.RATE,
        numerator=("substantiated",),
        denominator="concluded",
        direction=Direction.NEUTRAL,
        target=None,
        definition_zh=("已办结的投诉（已解决或已有调解结论）中，经调解成立或企业承认的比例。"),
        definition_en=(
            "Share of concluded complaints (resolved, or with a mediation finding) that "
            "were upheld by a mediator or conceded by the vendor."
        ),
    ),
)

KPI_BY_ID: Mapping[str, KpiDefinition] = {kpi.id: kpi for kpi in KPIS}
PROGRAMME_KPIS: tuple[str, ...] = (
    "timeliness",
    "satisfaction",
    "compliance",
    "leak_incidents",
    "first_response_24h",
    "renewal",
)
"""The six KPIs the programme sets targets for, in the programme's order."""


def kpi_versions(ids: tuple[str, ...] | list[str]) -> dict[str, int]:
    """{id: version} of the named KPIs, as a report records them."""
    return {kpi_id: KPI_BY_ID[kpi_id].version for kpi_id in ids}
