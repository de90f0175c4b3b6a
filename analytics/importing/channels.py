"""GA4's default channel grouping: the channel of a visit from its source, medium and campaign.

The rules are checked in GA4's order; the first that matches names the channel. The source lists
are the well-known sites of each category, shortened from GA4's own lists.
"""

from __future__ import annotations

import re

import pandas as pd

SEARCH_SITES = frozenset(
    [
        "google",
        "bing",
        "yahoo",
        "baidu",
        "yandex",
        "duckduckgo",
        "ecosia",
        "naver",
        "seznam",
        "qwant",
        "startpage",
        "ask",
        "aol",
        "so.com",
        "sogou",
        "daum",
        "search.brave.com",
        "brave",
    ]
)
SOCIAL_SITES = frozenset(
    [
        "facebook",
        "fb",
        "instagram",
        "ig",
        "linkedin",
        "lnkd.in",
        "twitter",
        "t.co",
        "x.com",
        "pinterest",
        "reddit",
        "tiktok",
        "snapchat",
        "tumblr",
        "vk",
        "weibo",
        "whatsapp",
        "telegram",
        "threads",
        "quora",
        "messenger",
        "line",
        "discord",
        "m.facebook.com",
        "l.facebook.com",
        "lm.facebook.com",
        "l.instagram.com",
    ]
)
VIDEO_SITES = frozenset(["youtube", "youtu.be", "vimeo", "twitch", "dailymotion", "wistia"])
SHOPPING_SITES = frozenset(
    [
        "amazon",
        "ebay",
        "etsy",
        "shopify",
        "walmart",
        "aliexpress",
        "shopping.google.com",
        "idealo",
        "pricerunner",
        "shopzilla",
        "zalando",
    ]
) | {"google shopping"}

PAID_MEDIUM = re.compile(r"^(.*cp.*|ppc|retargeting|paid.*)$")
SHOPPING_CAMPAIGN = re.compile(r"^(.*(([^a-df-z]|^)shop|shopping).*)$")
DISPLAY_MEDIA = frozenset({"display", "banner", "expandable", "interstitial", "cpm"})
SOCIAL_MEDIA = frozenset(
    {"social", "social-network", "social-media", "sm", "social network", "social media"}
)
EMAIL = frozenset({"email", "e-mail", "e_mail", "e mail"})
NONE_MEDIA = frozenset({"", "(none)", "(not set)"})


def _site(source: str, sites: frozenset[str]) -> bool:
    """Whether a source ("google", "m.facebook.com", "www.youtube.com") is one of these sites."""
    if source in sites:
        return True
    host = source.removeprefix("www.").removeprefix("m.")
    return host in sites or host.split(".")[0] in sites


def channel_for(source: str, medium: str, campaign: str = "") -> str:
    """The GA4 default channel group of one visit."""
    source, medium, campaign = source.strip().lower(), medium.strip().lower(), campaign.lower()
    if source in ("", "(direct)") and medium in NONE_MEDIA:
        return "Direct"
    if "cross-network" in campaign:
        return "Cross-network"
    paid = bool(PAID_MEDIUM.match(medium))
    shopping = _site(source, SHOPPING_SITES) or bool(SHOPPING_CAMPAIGN.match(campaign))
    if paid:
        if shopping:
            return "Paid Shopping"
        if _site(source, SEARCH_SITES):
            return "Paid Search"
        if _site(source, SOCIAL_SITES):
            return "Paid Social"
        if _site(source, VIDEO_SITES):
            return "Paid Video"
    if medium in DISPLAY_MEDIA:
        return "Display"
    if paid:
        return "Paid Other"
    if shopping:
        return "Organic Shopping"
    if _site(source, SOCIAL_SITES) or medium in SOCIAL_MEDIA:
        return "Organic Social"
    if _site(source, VIDEO_SITES) or "video" in medium:
        return "Organic Video"
    if _site(source, SEARCH_SITES) or medium == "organic":
        return "Organic Search"
    if medium in ("referral", "app", "link"):
        return "Referral"
    if source in EMAIL or medium in EMAIL:
        return "Email"
    if medium == "affiliate":
        return "Affiliates"
    if medium == "audio":
        return "Audio"
    if source == "sms" or medium == "sms":
        return "SMS"
    if medium.endswith("push") or "mobile" in medium or "notification" in medium:
        return "Mobile Push Notifications"
    if source == "firebase":
        return "Mobile Push Notifications"
    return "Unassigned"


def derive_channels(source: pd.Series, medium: pd.Series, campaign: pd.Series) -> pd.Series:
    """The channel of every row, computed once per distinct (source, medium, campaign)."""
    keys = pd.DataFrame({"source": source, "medium": medium, "campaign": campaign}).fillna("")
    distinct = keys.drop_duplicates()
    lookup = {
        (row.source, row.medium, row.campaign): channel_for(row.source, row.medium, row.campaign)
        for row in distinct.itertuples(index=False)
    }
    return pd.Series(
        [lookup[key] for key in zip(keys["source"], keys["medium"], keys["campaign"], strict=True)],
        index=source.index,
        dtype="str",
    )
