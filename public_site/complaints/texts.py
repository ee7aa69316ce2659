"""The complaint pages' own words in Chinese and English.

Kept beside the pages (not in the shared Babel catalog) because the same catalogue of
field names also words the API's errors (`registry.complaints.messages`); one source
means the form's labels and its error messages can never drift apart.
"""

from __future__ import annotations

from typing import Final

from registry.complaints.messages import Text

PAGE: Final = {
    "new_title": Text("投诉与反馈", "File a complaint"),
    "new_intro": Text(
        "遇到个人信息泄露、服务质量不达标、虚假宣传或售后缺失？在这里投诉。投诉会转交给企业，"
        "企业须在 24 小时内首次答复，7 天内解决；超时将自动提交行业协会调解。",
        "Met a personal-data leak, poor service, false advertising or missing after-sales "
        "support? Complain here. The vendor must answer within 24 hours and resolve within "
        "7 days; otherwise the association's mediators take over automatically.",
    ),
    "search_label": Text(
        "搜索会员企业（名称、信用代码或域名）",
        "Search member vendors (name, credit code or domain)",
    ),
    "search_button": Text("搜索", "Search"),
    "no_results": Text("没有找到匹配的会员企业。", "No member vendor matches."),
    "subject_legend": Text("被投诉对象", "Who is the complaint about?"),
    "member_vendor": Text("会员企业", "A member vendor"),
    "unregistered": Text(
        "未注册对象（填写域名、应用标识或信用代码）",
        "Not a member (give a domain, app id or credit code)",
    ),
    "complaint_legend": Text("投诉内容", "The complaint"),
    "contact_legend": Text("联系方式（加密保存）", "Your contact (stored encrypted)"),
    "contact_note": Text(
        "联系方式加密保存，仅在您同意后提供给被投诉企业，并可在结案后申请删除。",
        "Your contact is stored encrypted, shared with the vendor only if you agree, and "
        "can be erased after the complaint is closed.",
    ),
    "consent": Text(
        "同意将我的联系方式提供给被投诉企业", "Share my contact with the vendor concerned"
    ),
    "honeypot": Text("请勿填写此项", "Leave this empty"),
    "submit": Text("提交投诉", "File the complaint"),
    "choose": Text("请选择", "Choose"),
    "errors_heading": Text("请修改以下内容：", "Please correct the following:"),
    "filed_title": Text("投诉已提交", "Complaint filed"),
    "tracking_code": Text("查询码", "Tracking code"),
    "secret": Text("查询密码", "Secret"),
    "secret_note": Text(
        "请立即保存查询码和查询密码：密码只显示这一次，用于查看进度、回复企业和评价。",
        "Save the tracking code and the secret now: the secret is shown only this once; you "
        "need it to follow the complaint, reply and rate.",
    ),
    "first_response_due": Text("企业首次答复期限", "The vendor must first answer by"),
    "track_link": Text("查看投诉进度", "Follow your complaint"),
    "track_title": Text("查询投诉", "Follow a complaint"),
    "track_button": Text("查询", "Open"),
    "status": Text("状态", "Status"),
    "filed_at": Text("提交时间", "Filed"),
    "vendor": Text("被投诉企业", "Vendor"),
    "category": Text("类别", "Category"),
    "thread": Text("处理记录", "Thread"),
    "proposal": Text("企业提出的解决方案", "The vendor's proposed resolution"),
    "accept": Text("接受方案", "Accept the resolution"),
    "reject": Text("不接受，申请调解", "Reject and ask for mediation"),
    "reject_reason": Text("不接受的理由", "Why you reject it"),
    "message": Text("给企业留言", "Message to the vendor"),
    "send": Text("发送", "Send"),
    "rate_legend": Text("满意度评价", "How satisfied are you?"),
    "rate_button": Text("提交评价", "Rate"),
    "rated": Text("您的评价", "Your rating"),
    "erase": Text("删除我的联系方式", "Erase my contact"),
    "erased": Text("联系方式已删除", "Contact erased"),
    "done": Text("已完成", "Done"),
    "breached": Text(
        "企业超时未答复，已自动提交调解", "The vendor missed its deadline; escalated to mediation"
    ),
    "outcome_upheld": Text("调解结论：投诉成立", "Mediation: complaint upheld"),
    "outcome_not_upheld": Text("调解结论：投诉不成立", "Mediation: complaint not upheld"),
}

ACTORS: Final = {
    "consumer": Text("投诉人", "You"),
    "vendor": Text("企业", "Vendor"),
    "mediator": Text("调解员", "Mediator"),
    "system": Text("系统", "Registry"),
}

EVENTS: Final = {
    "message": Text("留言", "message"),
    "contact_revealed": Text("联系方式已提供", "contact disclosed"),
    "contact_erased": Text("联系方式已删除", "contact erased"),
    "duplicate_merged": Text("重复投诉已合并", "duplicate merged"),
}

FIGURES: Final = {
    "heading": Text("投诉情况（近 12 个月）", "Complaints (last 12 months)"),
    "received": Text("收到投诉", "Complaints received"),
    "answered_on_time": Text("24 小时内答复", "Answered within 24 h"),
    "median_first_response": Text("首次答复时间中位数", "Median first response"),
    "resolved": Text("已解决比例", "Resolved"),
    "substantiated": Text("经核实成立", "Substantiated"),
    "satisfaction": Text("满意度", "Satisfaction"),
    "fewer_than": Text("少于 {k} 件", "fewer than {k}"),
    "hours": Text("{h} 小时", "{h} h"),
    "file_link": Text("投诉该企业", "Complain about this vendor"),
}
