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
    "show": {"en": "Show", "zh": "显示"},
    "period": {"en": "Period", "zh": "期间"},
    "value": {"en": "Value", "zh": "数值"},
    "respondents": {"en": "Respondents", "zh": "样本数"},
    "std_error": {"en": "Std. error", "zh": "标准误"},
    "ci": {"en": "95% interval", "zh": "95%置信区间"},
    "download": {"en": "Download", "zh": "下载"},
    "no_data": {"en": "Nothing published yet.", "zh": "尚无发布数据。"},
    "language": {"en": "中文", "zh": "English"},
    "panel": {"en": "Panel", "zh": "样本企业"},
    "waves": {"en": "Waves", "zh": "调查轮次"},
    "vintages": {"en": "Vintages", "zh": "发布版本"},
    "kind": {"en": "Kind", "zh": "类型"},
    "note": {"en": "Note", "zh": "备注"},
}


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
