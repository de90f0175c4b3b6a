"""GA4's default channel grouping, as a table of cases."""

import pandas as pd
import pytest

from analytics.importing.channels import channel_for, derive_channels


@pytest.mark.parametrize(
    ("source", "medium", "campaign", "channel"),
    [
        ("(direct)", "(none)", "", "Direct"),
        ("", "", "", "Direct"),
        ("google", "cpc", "x-cross-network-y", "Cross-network"),
        ("google", "cpc", "shopping-brand", "Paid Shopping"),
        ("amazon", "ppc", "", "Paid Shopping"),
        ("google", "cpc", "brand", "Paid Search"),
        ("bing", "ppc", "", "Paid Search"),
        ("facebook", "paid_social", "", "Paid Social"),
        ("l.instagram.com", "cpc", "", "Paid Social"),
        ("youtube", "cpv", "", "Paid Video"),
        ("example.net", "display", "", "Display"),
        ("example.net", "cpm", "", "Display"),
        ("example.net", "cpc", "", "Paid Other"),
        ("etsy", "referral", "", "Organic Shopping"),
        ("m.facebook.com", "referral", "", "Organic Social"),
        ("newsletter", "social", "", "Organic Social"),
        ("vimeo", "referral", "", "Organic Video"),
        ("google", "organic", "", "Organic Search"),
        ("duckduckgo", "referral", "", "Organic Search"),
        ("example.com", "referral", "", "Referral"),
        ("newsletter", "email", "", "Email"),
        ("e-mail", "", "", "Email"),
        ("partner", "affiliate", "", "Affiliates"),
        ("podcast", "audio", "", "Audio"),
        ("sms", "", "", "SMS"),
        ("app", "web_push", "", "Mobile Push Notifications"),
        ("firebase", "", "", "Mobile Push Notifications"),
        ("something", "else", "", "Unassigned"),
        ("GOOGLE", "Organic", "", "Organic Search"),
    ],
)
def test_the_default_channel_group(source, medium, campaign, channel):
    assert channel_for(source, medium, campaign) == channel


def test_a_column_is_grouped_once_per_distinct_visit_source():
    source = pd.Series(["google", "google", "", "facebook"], dtype="str")
    medium = pd.Series(["organic", "organic", "", "paid"], dtype="str")
    campaign = pd.Series(["", "", "", ""], dtype="str")

    assert derive_channels(source, medium, campaign).tolist() == [
        "Organic Search",
        "Organic Search",
        "Direct",
        "Paid Social",
    ]
