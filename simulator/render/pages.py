"""HTML pages served where a client expects data: login walls, error pages, WeChat article pages and
their notices. Text from the scenario is escaped, except where a platform would not escape it either."""

from __future__ import annotations

from html import escape

WEIBO_LOGIN = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>登录 - 微博</title>
<script>window.wbBotDetector = {version: "1.0.3"};</script>
<script src="https://passport.weibo.cn/js/signin/sso.js"></script></head>
<body><div id="app"><h1>微博</h1><p>登录后查看更多精彩内容</p>
<a href="https://passport.weibo.cn/signin/login?entry=mweibo">登录</a> <a href="https://m.weibo.cn/reg/index">注册</a>
</div></body></html>"""

WEIBO_ERROR = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>微博-出错了</title></head>
<body><div class="h5-4box"><p class="h5-4con">系统繁忙，请稍后再试</p></div></body></html>"""

SINA_VISITOR = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sina Visitor System</title>
<script src="https://passport.weibo.com/js/visitor/mini_original.js"></script></head>
<body><script>var return_url = "{url}"; incarnate();</script></body></html>"""

TOUTIAO_SHELL = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>今日头条</title>
<script src="https://lf3-cdn-tos.bytescm.com/obj/static/toutiao/pc/index.js"></script></head>
<body><div id="root"></div></body></html>"""

MP_ERROR = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>系统错误</title></head>
<body><div class="page_msg"><h4>系统错误，请稍后再试</h4></div></body></html>"""

BRIDGE_LOGIN = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>登录</title></head>
<body><form action="/login" method="post"><h1>请先登录</h1><input name="password" type="password">
<button>登录</button></form></body></html>"""

# RSSHub's error page (lib/views/error.tsx inside lib/views/layout.tsx), with the message as
# lib/errors/index.tsx writes it in production ("<Error name>: <message>").
BRIDGE_ERROR = """<html><head><title>Welcome to RSSHub!</title><script src="https://cdn.tailwindcss.com"></script></head>
<body class="antialiased min-h-screen text-zinc-700 flex flex-col"><div class="w-full h-screen flex items-center justify-center flex-col space-y-4">
<img class="grayscale" src="/logo.png" alt="RSSHub" width="100" loading="lazy"/><h1 class="text-4xl font-bold">Looks like something went wrong</h1>
<div class="text-left w-[800px] space-y-6 !mt-10"><div class="space-y-2"><p class="mb-2 font-bold">Helpful Information</p>
<p class="message">Error Message:<br/><code class="mt-2 block max-h-28 overflow-auto bg-zinc-100 align-bottom w-fit details">{message}</code></p>
<p class="message">Route: <code class="ml-2 bg-zinc-100">{route}</code></p>
<p class="message">Full Route: <code class="ml-2 bg-zinc-100">{path}</code></p>
</div></div></div></body></html>"""

# WeChat account states on article pages (wnma3mz ArticlesInfo.py; RSSHub wechat-mp.ts).
WECHAT_NOTICES = {
    "deregistered": "此帐号已自主注销，内容无法查看",
    "migrated": "该公众号已迁移",
    "banned": "此帐号已被屏蔽, 内容无法查看",
    "deleted_article": "该内容已被发布者删除",
    "env_abnormal": "环境异常",
    "too_frequent": "你的访问过于频繁，需要从微信打开验证身份，是否需要继续访问当前页面",
}


def weibo_visitor(url: str) -> str:
    return SINA_VISITOR.replace("{url}", escape(url))


def bridge_error(message: str, route: str = "", path: str = "") -> str:
    return (
        BRIDGE_ERROR.replace("{message}", escape(message))
        .replace("{route}", escape(route or path))
        .replace("{path}", escape(path))
    )


def wechat_notice(kind: str) -> str:
    text = WECHAT_NOTICES[kind]
    extra = "<p>完成验证后即可继续访问</p>" if kind == "env_abnormal" else ""
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title></title></head>
<body><div class="weui-msg"><div class="weui-msg__text-area">
<h2 class="weui-msg__title">{text}</h2>{extra}</div></div></body></html>"""


def wechat_article(
    *, title: str, author: str, account: str, digest: str, body: str, ts: int, cover: str, show_type: int = 0
) -> str:
    t = escape(title)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{t}</title>
<meta property="og:title" content="{t}"><meta property="og:image" content="{escape(cover)}">
<meta name="author" content="{escape(author)}"><meta name="description" content="{escape(digest)}"></head>
<body><div id="js_article" class="rich_media"><h1 class="rich_media_title" id="activity-name">{t}</h1>
<div id="meta_content"><span class="wx_follow_nickname">{escape(account)}</span>
<em id="publish_time"></em></div>
<div class="rich_media_content" id="js_content"><p>{escape(body)}</p></div></div>
<script nonce="417086541">
var ct = "{ts}";
var item_show_type = "{show_type}";
var real_item_show_type = "{show_type}";
var msg_source_url = '';
var countryName = "中国"; var provinceName = "湖南"; var cityName = "长沙";
</script></body></html>"""
