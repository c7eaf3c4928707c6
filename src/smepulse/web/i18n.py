"""Every word the web pages show, in English and Chinese: one table, looked up by key (`t('save')`).

A key missing in either language fails the test that walks this table, so no page shows a raw key."""
from __future__ import annotations

LANGS = ("zh", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "site": {"en": "smepulse", "zh": "smepulse"},
    "portal": {"en": "Indices", "zh": "指数"},
    "latest_release": {"en": "Latest release", "zh": "最新发布"},
    "explorer": {"en": "Series explorer", "zh": "指数浏览"},
    "admin": {"en": "Admin", "zh": "管理"},
    "signin": {"en": "Sign in", "zh": "登录"},
    "signout": {"en": "Sign out", "zh": "退出"},
    "username": {"en": "User name", "zh": "用户名"},
    "password": {"en": "Password", "zh": "密码"},
    "signin_failed": {"en": "User name or password is wrong.", "zh": "用户名或密码错误。"},
    "signed_in_as": {"en": "Signed in as", "zh": "当前用户"},
    "series": {"en": "Series", "zh": "指数"},
    "group": {"en": "Group", "zh": "分组"},
    "adjustment": {"en": "Adjustment", "zh": "调整"},
    "sa": {"en": "Seasonally adjusted", "zh": "季节调整"},
    "nsa": {"en": "Not seasonally adjusted", "zh": "未经季节调整"},
    "as_of": {"en": "As of", "zh": "截至"},
    "vintage": {"en": "Vintage", "zh": "版本"},
    "latest_vintage": {"en": "latest by the date", "zh": "按日期的最新版本"},
    "show": {"en": "Show", "zh": "显示"},
    "period": {"en": "Period", "zh": "期间"},
    "value": {"en": "Value", "zh": "数值"},
    "respondents": {"en": "Respondents", "zh": "样本数"},
    "std_error": {"en": "Std. error", "zh": "标准误"},
    "ci": {"en": "95% interval", "zh": "95%置信区间"},
    "download": {"en": "Download", "zh": "下载"},
    "no_data": {"en": "Nothing published yet.", "zh": "尚无发布数据。"},
    "as_of_invalid": {"en": "“{got}” is not a date: give the date as YYYY-MM-DD.",
                      "zh": "“{got}”不是有效日期，请按YYYY-MM-DD填写。"},
    "unknown_choice": {"en": "{field} “{value}” has not been published: choose one from the list.",
                       "zh": "{field}“{value}”尚未发布，请从列表中选择。"},
    # the apply page's validation messages (the USCC's are decision/uscc.py's, by error code)
    "apply_amount_invalid": {"en": "The amount must be a number of yuan above 0 and at most 50,000,000.",
                             "zh": "金额须为大于0且不超过50,000,000元的数字。"},
    "apply_term_invalid": {"en": "The term must be a whole number of months from 1 to 60.",
                           "zh": "期限须为1至60之间的整月数。"},
    "apply_purpose_invalid": {"en": "Choose a purpose from the list.", "zh": "请从列表中选择用途。"},
    "apply_invite_invalid": {"en": "The invitation link is invalid or expired.", "zh": "邀请链接无效或已过期。"},
    "apply_failed": {"en": "We could not take this application: please check it and submit again.",
                     "zh": "无法受理本次申请，请检查后重新提交。"},
    "language": {"en": "中文", "zh": "English"},
    "panel": {"en": "Panel", "zh": "样本企业"},
    "waves": {"en": "Waves", "zh": "调查轮次"},
    "vintages": {"en": "Vintages", "zh": "发布版本"},
    "kind": {"en": "Kind", "zh": "类型"},
    "kind_flash": {"en": "flash", "zh": "快报"},
    "kind_final": {"en": "final", "zh": "终值"},
    "note": {"en": "Note", "zh": "备注"},
    # respondent form
    "form_title": {"en": "Monthly survey", "zh": "月度调查"},
    "form_intro": {"en": "Your answers are saved as you go: you can stop and come back with the same link.",
                   "zh": "您的回答会自动保存：可随时中断，稍后用同一链接继续。"},
    "block_performance": {"en": "This month compared with last month", "zh": "本月与上月相比"},
    "block_expectation": {"en": "The next three months compared with now", "zh": "未来三个月与目前相比"},
    "block_credit": {"en": "Credit conditions", "zh": "融资环境"},
    "block_external": {"en": "Exchange rate", "zh": "汇率"},
    "code_up": {"en": "Up", "zh": "上升"},
    "code_same": {"en": "Same", "zh": "持平"},
    "code_down": {"en": "Down", "zh": "下降"},
    "code_appreciate": {"en": "Appreciate", "zh": "升值"},
    "code_stable": {"en": "Stable", "zh": "稳定"},
    "code_depreciate": {"en": "Depreciate", "zh": "贬值"},
    "code_na": {"en": "Not applicable", "zh": "不适用"},
    "save": {"en": "Save", "zh": "保存"},
    "saved": {"en": "Saved.", "zh": "已保存。"},
    "submit": {"en": "Submit", "zh": "提交"},
    "required": {"en": "Please choose an answer.", "zh": "请选择一个答案。"},
    "form_has_errors": {"en": "Some questions are unanswered: see the marked ones.",
                        "zh": "有问题尚未回答，请查看标出的问题。"},
    "not_a_code": {"en": "That answer is not one of the choices: please choose one.",
                   "zh": "该回答不在选项之中，请选择一个选项。"},
    "answers_not_codes": {"en": "Some answers are not one of the choices, so nothing was submitted: see the marked "
                          "questions.", "zh": "有回答不在选项之中，问卷未提交，请查看标出的问题。"},
    "thanks": {"en": "Thank you: your answers were received.", "zh": "谢谢！您的回答已收到。"},
    "already_submitted": {"en": "This questionnaire was already submitted.", "zh": "此问卷已提交。"},
    "link_invalid": {"en": "This link is not valid. Please use the link from your invitation.",
                     "zh": "此链接无效，请使用邀请中的链接。"},
    "wave_closed": {"en": "This survey round is closed.", "zh": "本轮调查已结束。"},
    "fieldwork_not_yet": {"en": "This survey round opens on {opens}: please come back then with the same link.",
                          "zh": "本轮调查将于{opens}开始，届时请使用同一链接作答。"},
    "fieldwork_over": {"en": "This survey round took answers from {opens} to {last}: it takes no more.",
                       "zh": "本轮调查的作答时间为{opens}至{last}，现已不再接受回答。"},
    "draft_kept": {"en": "Answers you saved are kept; nothing was lost.", "zh": "您已保存的回答仍然保留，没有丢失。"},
    "link_expired": {"en": "This link has expired.", "zh": "此链接已过期。"},
    "save_conflict": {"en": "Your answers could not be saved just now. Please try again in a moment: your answers "
                      "are kept.", "zh": "您的回答暂时未能保存，请稍后再试：您的回答仍然保留。"},
    "answers_on_file": {"en": "The survey team already has your firm's answers for this month: nothing more is "
                        "needed. Thank you.", "zh": "调查团队已收到贵企业本月的回答，无需再次提交。谢谢。"},
    "received_at": {"en": "Received", "zh": "收到时间"},
    # admin: panel and waves
    "import_register": {"en": "Import a firm register (CSV or Excel)", "zh": "导入企业名册（CSV或Excel）"},
    "import": {"en": "Import", "zh": "导入"},
    "retire": {"en": "Retire", "zh": "退出样本"},
    "replace": {"en": "Replace", "zh": "替换"},
    "reason": {"en": "Reason", "zh": "原因"},
    "log": {"en": "Log", "zh": "日志"},
    "open_wave": {"en": "Open a wave", "zh": "开启调查轮次"},
    "fieldwork_opens": {"en": "Fieldwork opens", "zh": "调查开始"},
    "fieldwork_closes": {"en": "Fieldwork closes", "zh": "调查结束"},
    "open": {"en": "Open", "zh": "开启"},
    "close_wave": {"en": "Close the wave", "zh": "结束本轮调查"},
    "links_csv": {"en": "Links for a mail merge (CSV)", "zh": "邀请链接（CSV，用于邮件合并）"},
    "response_rate": {"en": "Response rate", "zh": "回复率"},
    "invited": {"en": "Invited", "zh": "邀请数"},
    "answered": {"en": "Answered", "zh": "回复数"},
    "by_day": {"en": "By fieldwork day", "zh": "按调查日"},
    "publish_flash": {"en": "Publish a flash", "zh": "发布快报"},
    "publish_final": {"en": "Publish the final", "zh": "发布终值"},
    "cutoff": {"en": "Cut-off", "zh": "截止日期"},
    "seasonal": {"en": "Seasonal adjustment", "zh": "季节调整"},
    "published": {"en": "Published vintage", "zh": "已发布版本"},
    "status": {"en": "Status", "zh": "状态"},
    "firm": {"en": "Firm", "zh": "企业"},
    "weight": {"en": "Design weight", "zh": "设计权重"},
    "email": {"en": "E-mail", "zh": "电子邮箱"},
    "add_firm": {"en": "Add a firm", "zh": "添加企业"},
    "replace_by": {"en": "Replace a firm by a new one", "zh": "以新企业替换"},
    "old_firm": {"en": "Firm leaving", "zh": "退出的企业"},
    "mail": {"en": "Invitations and reminders", "zh": "邀请与提醒"},
    "send_invitations": {"en": "Send invitations", "zh": "发送邀请"},
    "send_reminders": {"en": "Send reminders", "zh": "发送提醒"},
    "min_days": {"en": "Minimum days since the last mail", "zh": "距上次邮件最少天数"},
    "max_count": {"en": "Maximum mails per firm", "zh": "每家企业最多邮件数"},
    "due_now": {"en": "Due now", "zh": "当前待发"},
    "no_smtp": {"en": "No SMTP server is configured: download the links as CSV for a mail merge.",
                "zh": "未配置SMTP服务器：请下载链接CSV用于邮件合并。"},
    "commentary": {"en": "Commentary (optional, plain text)", "zh": "点评（可选，纯文本）"},
    "stratum": {"en": "Stratum", "zh": "分层"},
    "frame": {"en": "Weights", "zh": "权重"},
    "frame_methodology": {"en": "to the methodology's targets", "zh": "按方法文件的目标结构"},
    "frame_design": {"en": "design weights only", "zh": "仅设计权重"},
    "replicates": {"en": "Bootstrap replicates (sampling error)", "zh": "自助法重复次数（抽样误差）"},
    "benchmark_title": {"en": "Your firm against its sector", "zh": "贵企业与同行业对比"},
    "benchmark_intro": {"en": "Thank you for answering. The indices are published: here are your answers next to "
                                "your sector's and all firms' indices (50 = no change).",
                        "zh": "感谢您的参与。指数已发布：以下是您的回答与同行业及全部企业指数的对比（50 = 无变化）。"},
    "your_answer": {"en": "Your answer", "zh": "您的回答"},
    "your_sector": {"en": "Your sector", "zh": "您的行业"},
    "all_firms": {"en": "All firms", "zh": "全部企业"},
    "benchmark_note": {"en": "Indices above 50 mean more firms reported a rise than a fall. Figures not shown (–) "
                              "rest on too few answers to publish.",
                       "zh": "指数高于50表示报告上升的企业多于报告下降的企业。未显示（–）的数据因样本过少不予发布。"},
    # admin: what a form did (codes of survey_admin._back; {names} are the signed link's arguments)
    "msg_imported": {"en": "Register imported: added {added}, updated {updated}.",
                     "zh": "名册已导入：新增{added}家，更新{updated}家。"},
    "msg_added": {"en": "Added firm {firm}.", "zh": "已添加企业{firm}。"},
    "msg_retired": {"en": "Firm {firm} left the panel.", "zh": "企业{firm}已退出样本。"},
    "msg_replaced": {"en": "Firm {old} replaced by {firm}.", "zh": "企业{old}已由{firm}替换。"},
    "msg_opened": {"en": "Wave opened.", "zh": "调查轮次已开启。"},
    "msg_closed": {"en": "Wave closed.", "zh": "调查轮次已结束。"},
    "msg_sent_invitation": {"en": "Sent {sent} invitations (refused by the mail server: {refused}).",
                            "zh": "已发送{sent}封邀请（邮件服务器拒收：{refused}）。"},
    "msg_sent_reminder": {"en": "Sent {sent} reminders (refused by the mail server: {refused}).",
                          "zh": "已发送{sent}封提醒（邮件服务器拒收：{refused}）。"},
    "msg_published_final": {"en": "Published the final, vintage {vintage}.", "zh": "已发布终值，版本{vintage}。"},
    "msg_published_flash": {"en": "Published a flash, vintage {vintage}.", "zh": "已发布快报，版本{vintage}。"},
    # admin: refusals (nothing was changed); `failed` carries the engine's one-line detail (file, row, column)
    # the detail is the engine's own English line (it names file, row and column): the zh text says so
    "error_failed": {"en": "Not done, nothing was changed: {detail}",
                     "zh": "未完成，未作任何更改。原因（系统英文原文，含文件、行与字段）：{detail}"},
    "error_raking": {"en": "Not published: the answers cannot be weighted to the methodology's targets ({detail}). "
                              "Choose \"Weights: design weights only\" and publish again, or check the targets.",
                     "zh": "未发布：回答无法按方法文件的目标结构加权（{detail}）。"
                           "请在“权重”中选择“仅设计权重”后重新发布，或检查目标结构。"},
    "error_commentary_long": {"en": "Not published: the commentary ({field}) has {got} characters; at most {max} "
                                     "are allowed. Shorten it and publish again.",
                              "zh": "未发布：点评（{field}）有{got}个字符，最多允许{max}个。请缩短后重新发布。"},
    "error_cutoff": {"en": "Not published: the cut-off \"{got}\" is not a date; give it as YYYY-MM-DD.",
                     "zh": "未发布：截止日期“{got}”不是有效日期，请按YYYY-MM-DD填写。"},
    "error_kind": {"en": "Not published: the kind must be flash or final.", "zh": "未发布：类型须为快报或终值。"},
    "error_frame": {"en": "Not published: weights must be the methodology's targets or design weights only.",
                    "zh": "未发布：权重须为方法文件的目标结构或仅设计权重。"},
    "commentary_limit": {"en": "at most {max} characters", "zh": "最多{max}个字符"},
    # admin: words on the panel and wave pages
    "firm_id": {"en": "Firm id", "zh": "企业编号"},
    "status_active": {"en": "active", "zh": "在样本中"},
    "status_retired": {"en": "retired", "zh": "已退出"},
    "status_open": {"en": "open", "zh": "进行中"},
    "status_closed": {"en": "closed", "zh": "已结束"},
    "action_add": {"en": "add", "zh": "添加"},
    "action_update": {"en": "update", "zh": "更新"},
    "action_retire": {"en": "retire", "zh": "退出"},
    "action_replace": {"en": "replace", "zh": "替换"},
    "when": {"en": "When", "zh": "时间"},
    "action": {"en": "Action", "zh": "操作"},
    "by_user": {"en": "By", "zh": "操作人"},
    "other_firm": {"en": "Other firm", "zh": "关联企业"},
    "day": {"en": "Day", "zh": "日期"},
    "cumulative": {"en": "Cumulative", "zh": "累计"},
    "for_flash": {"en": "for a flash", "zh": "快报用"},
    "reload": {"en": "Reload the figures", "zh": "刷新数据"},
}


def message(key: str, lang: str, fields: dict) -> str:
    """A message of the table with its {names} filled from `fields`; "" for a key the table does not have (an
    unknown code in a link shows nothing) or a field it lacks."""
    if key not in MESSAGES:
        return ""
    try:
        return t(key, lang).format(**{k: v for k, v in fields.items() if isinstance(v, str | int)})
    except (KeyError, IndexError, ValueError):
        return ""


def page_lang(request) -> str:
    """The page's language as the app's render picks it: ?lang=, then the cookie, then Accept-Language."""
    return pick_lang(request.query_params.get("lang") or request.cookies.get("lang"),
                     request.headers.get("accept-language"))


class Labels:
    """Register columns and their codes in one language, from the methodology (a classification's `text`, and a
    value's Chinese from the release's group labels, `sector=manufacturing: 制造业中小企业` -> 制造业), so a producer
    who edits the YAML edits the admin pages too; the code itself where the methodology has no words for it."""

    SUFFIXES = ("中小企业", "企业")

    def __init__(self, methodology, lang: str):
        self.m, self.lang = methodology, lang

    def dim(self, name: str) -> str:
        c = self.m.classifications.get(name)
        return (getattr(c.text, self.lang) or c.text.en) if c is not None and c.text is not None else name

    def value(self, dim: str, value) -> str:
        value = "" if value is None else str(value)
        group = self.m.release.groups.get(f"{dim}={value}") if self.lang == "zh" else None
        if group is None or not group.zh:
            return value
        for suffix in self.SUFFIXES:
            if group.zh.endswith(suffix) and len(group.zh) > len(suffix):
                return group.zh[:-len(suffix)]
        return group.zh


def t(key: str, lang: str) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["en"]


def pick_lang(value: str | None, accept: str | None = None) -> str:
    """`zh` or `en`: an explicit choice first, then the browser's Accept-Language, then Chinese."""
    if value in LANGS:
        return value
    if accept:
        for part in accept.split(","):
            code = part.split(";")[0].strip().lower()
            if code.startswith("en"):
                return "en"
            if code.startswith("zh"):
                return "zh"
    return "zh"
