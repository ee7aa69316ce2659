"""Consumer-facing words in Chinese and English: field names, errors, and language choice.

Consumers are not developers, so every refusal on the complaint form and the consumer
API names the field in the consumer's language. Errors here are ordinary registry errors
(English `detail`, so the shared problem+json handler still works) that also carry their
Chinese text; the complaint controllers pick the language per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from registry.errors import Conflict, InvalidInput, NotFound, RegistryError
from registry.kernel import regions

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


@dataclass(frozen=True)
class Text:
    """One sentence in both languages."""

    zh: str
    en: str

    def in_language(self, language: str) -> str:
        """The sentence in `language` (English for `en`, Chinese otherwise)."""
        return self.en if language == "en" else self.zh

    def format(self, **values: Any) -> Text:
        """Fill `{placeholders}` in both languages."""
        return Text(self.zh.format(**values), self.en.format(**values))


def pick_language(explicit: str | None, accept_language: str | None) -> str:
    """`?lang=` wins, then the first supported Accept-Language tag (RFC 9110 §12.5.4), else zh."""
    if explicit in LANGUAGES:
        return explicit
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


FIELD_NAMES: Mapping[str, Text] = {
    "vendor": Text("被投诉企业", "vendor"),
    "subject_kind": Text("被投诉对象类型", "subject kind"),
    "subject_value": Text("被投诉对象", "subject"),
    "product": Text("产品或服务", "product"),
    "category": Text("投诉类别", "category"),
    "description": Text("问题描述", "description"),
    "desired_remedy": Text("诉求", "desired remedy"),
    "region": Text("所在地区", "region"),
    "occurred_on": Text("问题发生日期", "date of the problem"),
    "contact_name": Text("联系人姓名", "contact name"),
    "contact_phone": Text("联系电话", "contact phone"),
    "contact_email": Text("电子邮箱", "contact e-mail"),
    "consent_to_share": Text("同意向企业提供联系方式", "consent to share contact"),
    "csrf_token": Text("表单令牌", "form token"),
    "website": Text("留空字段", "leave-empty field"),
    "tracking_code": Text("查询码", "tracking code"),
    "secret": Text("查询密码", "secret"),
    "body": Text("留言内容", "message"),
    "reason": Text("不接受的理由", "reason"),
    "proposal": Text("解决方案", "proposal"),
    "note": Text("说明", "note"),
    "score": Text("满意度评分", "rating"),
    "comment": Text("评价意见", "comment"),
    "lang": Text("语言", "language"),
}

REQUIRED = Text("{field}：必填", "{field}: required")
TOO_LONG = Text("{field}：最多 {limit} 个字符", "{field}: at most {limit} characters")
NOT_IN_LIST = Text("{field}：请从列表中选择", "{field}: choose one of the listed values")
BAD_REGION = Text(
    "{field}：不是有效的行政区划代码（GB/T 2260，如省级 110000 或地市级 440300）",
    "{field}: not a known administrative division code (GB/T 2260, e.g. 110000 or 440300)",
)
BAD_DATE = Text(
    "{field}：请填写不晚于今天的日期（年-月-日）",
    "{field}: give a date no later than today (YYYY-MM-DD)",
)
BAD_PHONE = Text("{field}：请填写有效的电话号码", "{field}: give a valid phone number")
BAD_EMAIL = Text("{field}：请填写有效的电子邮箱", "{field}: give a valid e-mail address")
NEED_PHONE_OR_EMAIL = Text(
    "{field}：请至少填写电话或电子邮箱之一", "{field}: give a phone number or an e-mail address"
)
UNKNOWN_VENDOR = Text(
    "{field}：没有找到该会员企业，请重新搜索或选择“未注册对象”",
    "{field}: no member vendor by that name; search again or choose an unregistered subject",
)
BAD_SUBJECT = Text(
    "{field}：请填写域名、应用标识或统一社会信用代码",
    "{field}: give a domain, an app id or a unified social credit code",
)
BAD_CREDIT_CODE = Text(
    "{field}：统一社会信用代码无效", "{field}: not a valid unified social credit code"
)
BAD_SCORE = Text("{field}：请选择 1 至 5 分", "{field}: choose a score from 1 to 5")
MALFORMED = Text("{field}：格式不正确", "{field}: malformed value")
MISSING_HEADER = Text(
    "缺少请求头 {name}：请附上提交投诉时获得的查询密码",
    "the {name} header is missing: send the secret you were given when the complaint was filed",
)
MISSING_PARAMETER = Text("缺少参数 {name}", "the {name} parameter is missing")
INVALID_SUMMARY = Text("请修改标出的字段后再提交", "please correct the marked fields and resubmit")
FORM_EXPIRED = Text(
    "表单已过期或来源无法验证，请刷新页面后重新提交",
    "the form expired or its origin could not be verified; reload the page and submit again",
)
HONEYPOT = Text("提交未被接受", "the submission was not accepted")
RATE_LIMITED = Text(
    "提交过于频繁，请稍后再试", "too many complaints from you in a short time; try again later"
)
NOT_FOUND = Text("查询码或查询密码不正确", "no complaint matches this tracking code and secret")
WRONG_STATE = Text(
    "投诉当前状态为“{status}”，不能执行此操作",
    "the complaint is {status}; this action is not possible now",
)
ALREADY_RATED = Text("该投诉已评价过", "this complaint has already been rated")
FILED = Text(
    "投诉已提交。请保存查询码和查询密码，密码只显示这一次。",
    "Complaint filed. Keep the tracking code and secret; the secret is shown only this once.",
)


def field_problem(template: Text, field: str, **values: Any) -> Text:
    """`template` about `field`, with the field's name in each language."""
    name = FIELD_NAMES.get(field, Text(field, field))
    return Text(
        template.zh.format(field=name.zh, **values), template.en.format(field=name.en, **values)
    )


class Bilingual(RegistryError):
    """A registry error that also knows its sentence in Chinese."""

    status_override: int | None = None

    def __init__(self, text: Text, fields: Mapping[str, Text] | None = None) -> None:
        super().__init__(text.en, fields={k: v.en for k, v in (fields or {}).items()})
        self.text = text
        self.field_texts = dict(fields or {})

    def localised(self, language: str) -> tuple[str, dict[str, str]]:
        """(detail, {field: message}) in `language`."""
        return self.text.in_language(language), {
            k: v.in_language(language) for k, v in self.field_texts.items()
        }


class ComplaintInvalid(Bilingual, InvalidInput):
    """One or more fields of a consumer's submission are invalid."""

    def __init__(self, fields: Mapping[str, Text]) -> None:
        super().__init__(INVALID_SUMMARY, fields)


class ComplaintRefused(Bilingual, InvalidInput):
    """The submission as a whole is refused (stale form token, honeypot)."""


class ComplaintRateLimited(Bilingual, Conflict):
    """Too many filings from one IP or one contact in the window (HTTP 429)."""

    code = "rate-limited"
    title = "Too many requests"
    status_override = 429


class ComplaintNotFound(Bilingual, NotFound):
    """No complaint with this code and secret (the two are never told apart)."""


class ComplaintStateConflict(Bilingual, Conflict):
    """The action does not fit the complaint's current state."""


STATUS_NAMES: Mapping[str, Text] = {
    "submitted": Text("已提交", "submitted"),
    "forwarded": Text("已转交企业", "forwarded to the vendor"),
    "acknowledged": Text("企业已受理", "acknowledged by the vendor"),
    "resolution_proposed": Text("企业已提出解决方案", "resolution proposed"),
    "resolved": Text("已解决", "resolved"),
    "escalated": Text("已提交调解", "escalated to mediation"),
    "mediated": Text("已调解", "mediated"),
    "closed": Text("已结案", "closed"),
}

CATEGORY_NAMES: Mapping[str, Text] = {
    "personal_information_leak": Text("个人信息泄露", "personal-information leak"),
    "quality_below_standard": Text("质量不达标", "quality below standard"),
    "false_advertising": Text("虚假宣传", "false advertising"),
    "missing_after_sales": Text("售后服务缺失", "missing after-sales service"),
    "billing_refund": Text("计费与退款", "billing and refunds"),
    "unfair_terms": Text("不公平条款", "unfair terms"),
    "other": Text("其他", "other"),
}

SUBJECT_KIND_NAMES: Mapping[str, Text] = {
    "vendor": Text("会员企业", "member vendor"),
    "domain": Text("网站域名", "web domain"),
    "app_id": Text("应用标识", "app id"),
    "credit_code": Text("统一社会信用代码", "unified social credit code"),
}

# Province-level administrative divisions (GB/T 2260), the region a complaint is filed
# from; the names come from the kernel's code table (registry.kernel.regions).
PROVINCES: Mapping[str, Text] = {
    province.code: Text(province.name_zh, province.name_en) for province in regions.provinces()
}
