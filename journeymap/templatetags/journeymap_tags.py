"""Small display helpers for map pages."""

from django import template

register = template.Library()

EMOTION_WORDS = {-2: "very negative", -1: "negative", 0: "neutral", 1: "positive", 2: "very positive"}


@register.filter
def emotion_label(score: int) -> str:
    """'+1 positive', '−2 very negative', '0 neutral'."""
    sign = "+" if score > 0 else "−" if score < 0 else ""
    return f"{sign}{abs(score)} {EMOTION_WORDS.get(score, '')}".strip()
