# ruff: noqa: E501 - the files are written in their real shapes, long lines included
"""Each format users bring, written in its real shape, imported end to end (DESIGN §5)."""

import codecs
import gzip
import io
import json
import zipfile
from datetime import UTC, datetime

import pytest

from analytics.importing.transform import email_hash
from analytics.models import AggregateRow, DatasetStatus, Event, SurveyResponse

from .uploads import imported, report_rows, upload

pytestmark = pytest.mark.django_db


def events(dataset, *fields):
    return list(
        Event.objects.filter(dataset=dataset).order_by("timestamp", "id").values_list(*fields)
    )


ECOMMERCE_LOG = """\
event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session
2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde-8bb3
2019-10-01 00:00:05 UTC,cart,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde-8bb3
2019-10-01 00:01:00 UTC,purchase,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde-8bb3
2019-10-01 00:02:00 UTC,view,3900821,2053013552326770905,appliances.environment.water_heater,aqua,33.20,554748717,9333dfbd-b87a
"""


def test_the_public_ecommerce_log_counts_revenue_only_on_purchases(workspace):
    dataset = imported(workspace, ECOMMERCE_LOG, "2019-Oct.csv")

    assert dataset.status == DatasetStatus.READY
    assert dataset.source_format == "ecommerce-events"
    assert dataset.options["revenue_events"] == ["purchase"]
    assert dataset.row_count == 4
    assert events(dataset, "event", "revenue", "user_id", "session_id") == [
        ("view", 0.0, "541312140", "72d76fde-8bb3"),
        ("cart", 0.0, "541312140", "72d76fde-8bb3"),
        ("purchase", 35.79, "541312140", "72d76fde-8bb3"),
        ("view", 0.0, "554748717", "9333dfbd-b87a"),
    ]
    first = Event.objects.filter(dataset=dataset).order_by("timestamp").first()
    assert first.timestamp == datetime(2019, 10, 1, tzinfo=UTC)
    assert first.extra == {
        "product_id": "44600062",
        "category_id": "2103807459595387724",
        "brand": "shiseido",
        "price": "35.79",
    }
    assert dataset.first_timestamp == datetime(2019, 10, 1, tzinfo=UTC)
    assert dataset.last_timestamp == datetime(2019, 10, 1, 0, 2, tzinfo=UTC)


POSTHOG = """\
uuid,event,properties,timestamp,distinct_id,session_id,person_id
0189a1b2-0001,$pageview,"{""$current_url"": ""https://shop.example/products/1"", ""$browser"": ""Firefox"", ""$device_type"": ""Mobile"", ""$geoip_country_code"": ""DE"", ""utm_source"": ""google"", ""utm_medium"": ""cpc""}",2024-03-01T10:00:00.123000+01:00,user-1,sess-1,p-1
0189a1b2-0002,added_to_cart,"{""$current_url"": ""https://shop.example/cart"", ""$browser"": ""Firefox""}",2024-03-01T10:05:00+01:00,user-1,sess-1,p-1
"""


def test_posthog_properties_json_feeds_page_device_country_and_extra(workspace):
    dataset = imported(workspace, POSTHOG, "posthog-events.csv")

    assert dataset.source_format == "posthog"
    rows = events(
        dataset,
        "timestamp",
        "event",
        "user_id",
        "session_id",
        "page",
        "device",
        "country",
        "source",
        "medium",
        "channel",
        "extra",
    )
    assert rows[0][:10] == (
        datetime(2024, 3, 1, 9, 0, 0, 123000, tzinfo=UTC),
        "$pageview",
        "user-1",
        "sess-1",
        "https://shop.example/products/1",
        "Mobile",
        "DE",
        "google",
        "cpc",
        "Paid Search",
    )
    assert rows[0][10]["$browser"] == "Firefox"
    assert rows[0][10]["uuid"] == "0189a1b2-0001"
    assert rows[1][1] == "added_to_cart"


SEGMENT = """\
anonymous_id,context_ip,context_page_path,context_campaign_source,context_campaign_medium,event,event_text,received_at,sent_at,user_id
a-1,203.0.113.1,/pricing,newsletter,email,viewed_pricing,Viewed Pricing,2024-05-02 08:00:01.123+00,2024-05-02 08:00:00.900+00,
a-1,203.0.113.1,/checkout,,,order_completed,Order Completed,2024-05-02 08:10:00+00,2024-05-02 08:09:59+00,u-42
"""


def test_segment_tracks_map_anonymous_users_and_utm_to_channel(workspace):
    dataset = imported(workspace, SEGMENT, "tracks.csv")

    assert dataset.source_format == "segment"
    assert events(dataset, "event", "user_id", "page", "channel") == [
        ("viewed_pricing", "a-1", "/pricing", "Email"),
        ("order_completed", "a-1", "/checkout", "Direct"),
    ]
    # No session column: one session per user by the 30-minute rule.
    assert {row[0] for row in events(dataset, "session_id")} == {"~1"}


GA4_BIGQUERY = (
    "event_date,event_timestamp,event_name,event_params,user_id,user_pseudo_id,device,geo,"
    "traffic_source,ecommerce\n"
    '20210127,1611789078248882,page_view,"[{""key"":""ga_session_id"",""value"":{""int_value"":'
    '1611789000}},{""key"":""page_location"",""value"":{""string_value"":'
    '""https://shop.googlemerchandisestore.com/""}}]",,1026454.4271112975,'
    '"{""category"":""desktop"",""operating_system"":""Windows""}","{""country"":""United States""}",'
    '"{""source"":""google"",""medium"":""organic"",""name"":""(organic)""}",'
    '"{""purchase_revenue"":null}"\n'
    '20210127,1611789178248882,purchase,"[{""key"":""ga_session_id"",""value"":{""int_value"":'
    '1611789000}}]",,1026454.4271112975,"{""category"":""desktop""}",'
    '"{""country"":""United States""}","{""source"":""google"",""medium"":""organic""}",'
    '"{""purchase_revenue"":82.0,""transaction_id"":""T-9""}"\n'
)


def test_ga4_bigquery_flattened_with_microsecond_timestamps_and_json_records(workspace):
    dataset = imported(workspace, GA4_BIGQUERY, "bq-results.csv")

    assert dataset.source_format == "ga4-bigquery"
    rows = events(
        dataset,
        "timestamp",
        "event",
        "user_id",
        "session_id",
        "page",
        "device",
        "country",
        "revenue",
        "order_id",
        "channel",
    )
    assert rows == [
        (
            datetime(2021, 1, 27, 23, 11, 18, 248882, tzinfo=UTC),
            "page_view",
            "1026454.4271112975",
            "1611789000",
            "https://shop.googlemerchandisestore.com/",
            "desktop",
            "United States",
            0.0,
            "",
            "Organic Search",
        ),
        (
            datetime(2021, 1, 27, 23, 12, 58, 248882, tzinfo=UTC),
            "purchase",
            "1026454.4271112975",
            "1611789000",
            "",
            "desktop",
            "United States",
            82.0,
            "T-9",
            "Organic Search",
        ),
    ]


def test_mixpanel_json_lines_in_seconds_with_duplicates_removed(workspace):
    lines = [
        {
            "event": "Signed Up",
            "properties": {
                "time": 1602611311,
                "distinct_id": "d-1",
                "$insert_id": "i-1",
                "mp_country_code": "FR",
            },
        },
        {
            "event": "Signed Up",
            "properties": {
                "time": 1602611311,
                "distinct_id": "d-1",
                "$insert_id": "i-1",
                "mp_country_code": "FR",
            },
        },
        {
            "event": "Purchase",
            "properties": {
                "time": 1602611400,
                "distinct_id": "d-1",
                "$insert_id": "i-2",
                "revenue": 12.5,
            },
        },
    ]
    content = "\n".join(json.dumps(line) for line in lines) + "\n"

    dataset = imported(workspace, content, "export.json")

    assert dataset.source_format == "mixpanel"
    assert dataset.row_count == 2
    assert events(dataset, "timestamp", "event", "user_id", "country", "revenue") == [
        (datetime(2020, 10, 13, 17, 48, 31, tzinfo=UTC), "Signed Up", "d-1", "FR", 0.0),
        (datetime(2020, 10, 13, 17, 50, 0, tzinfo=UTC), "Purchase", "d-1", "", 12.5),
    ]
    assert any("duplicate" in note for note in dataset.notes)


SHOPIFY_HEADER = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,"
    "Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,"
    "Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,"
    "Lineitem sku,Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,"
    "Billing Name,Billing Street,Billing Address1,Billing Address2,Billing Company,Billing City,"
    "Billing Zip,Billing Province,Billing Country,Billing Phone,Shipping Name,Shipping Street,"
    "Shipping Address1,Shipping Address2,Shipping Company,Shipping City,Shipping Zip,"
    "Shipping Province,Shipping Country,Shipping Phone,Notes,Note Attributes,Cancelled at,"
    "Payment Method,Payment Reference,Refunded Amount,Vendor,Outstanding Balance,Employee,"
    "Location,Device ID,Id,Tags,Risk Level,Source,Lineitem discount"
)


def shopify_row(**values: str) -> str:
    columns = SHOPIFY_HEADER.split(",")
    cells = []
    for column in columns:
        value = values.get(column, "")
        if any(char in value for char in ',"\n'):
            value = '"' + value.replace('"', '""') + '"'
        cells.append(value)
    return ",".join(cells)


SHOPIFY = (
    "\r\n".join(
        [
            SHOPIFY_HEADER,
            shopify_row(
                **{
                    "Name": "#1001",
                    "Email": "Jane@Example.com",
                    "Financial Status": "paid",
                    "Currency": "EUR",
                    "Subtotal": "90.00",
                    "Total": "99.90",
                    "Created at": "2026-04-05 21:06:21 +0400",
                    "Lineitem quantity": "2",
                    "Lineitem name": "Blue mug",
                    "Lineitem price": "45.00",
                    "Billing Name": "Jane Doe",
                    "Billing Zip": "'01234",
                    "Billing Country": "DE",
                    "Billing Phone": "'+49 30 1234",
                    "Note Attributes": "landing_page: /mugs\nreferrer: https://www.google.com/",
                    "Source": "web",
                }
            ),
            shopify_row(
                **{
                    "Name": "#1001",
                    "Created at": "2026-04-05 21:06:21 +0400",
                    "Lineitem quantity": "1",
                    "Lineitem name": "Red mug",
                    "Lineitem price": "9.90",
                }
            ),
            shopify_row(
                **{
                    "Name": "#1002",
                    "Email": "bob@example.org",
                    "Financial Status": "paid",
                    "Total": "1,250.00",
                    "Created at": "2026-04-06 09:00:00 -0500",
                    "Lineitem quantity": "1",
                    "Lineitem name": "Teapot",
                    "Shipping Country": "US",
                }
            ),
        ]
    )
    + "\r\n"
)


def test_shopify_orders_fold_line_items_into_one_purchase_per_order(workspace):
    dataset = imported(workspace, SHOPIFY, "orders_export_1.csv")

    assert dataset.source_format == "shopify-orders"
    assert dataset.row_count == 2
    rows = events(
        dataset, "timestamp", "event", "order_id", "revenue", "country", "user_id", "extra"
    )
    first, second = rows
    assert first[:5] == (
        datetime(2026, 4, 5, 17, 6, 21, tzinfo=UTC),
        "purchase",
        "#1001",
        99.90,
        "DE",
    )
    assert second[:5] == (
        datetime(2026, 4, 6, 14, 0, tzinfo=UTC),
        "purchase",
        "#1002",
        1250.0,
        "US",
    )
    assert first[5] == email_hash("jane@example.com")
    extra = first[6]
    assert extra["email_hash"] == email_hash("jane@example.com")
    assert extra["Lineitem name"] == "Blue mug; Red mug"
    assert extra["Lineitem quantity"] == "3"
    assert extra["Note Attributes"] == "landing_page: /mugs\nreferrer: https://www.google.com/"
    stored = json.dumps([list(row[5:]) for row in rows])
    for personal in ("Jane", "jane@example.com", "Example.com", "bob@", "01234", "1234"):
        assert personal not in stored


def test_a_shopify_order_split_across_chunks_is_still_one_purchase(workspace, monkeypatch):
    from analytics.importing import pipeline

    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 2)
    dataset = imported(workspace, SHOPIFY, "orders_export_1.csv")

    assert events(dataset, "order_id", "revenue") == [("#1001", 99.90), ("#1002", 1250.0)]


GA4_REPORT = (
    "# ----------------------------------------\r\n"
    "# Pages and screens: Page path and screen class\r\n"
    "# Account: example.co.uk\r\n"
    "# Property: GA4 - example.co.uk\r\n"
    "# ----------------------------------------\r\n"
    "# \r\n"
    "# All Users\r\n"
    "# Start date: 20250101\r\n"
    "# End date: 20251231\r\n"
    "Page path and screen class,Views,Active users,Views per active user,"
    "Average engagement time per active user,Event count,Key events,Total revenue\r\n"
    "/some-page/,146,103,1.4174757281553398,53.15533980582524,751,12,0\r\n"
    "(not set),3,3,1,0,9,0,0\r\n"
)


def test_a_ga4_report_with_its_comment_preamble_is_an_aggregate_dataset(workspace):
    dataset = imported(workspace, GA4_REPORT, "Pages_and_screens_Page_path.csv")

    assert dataset.kind == "aggregate"
    assert dataset.source_format == "ga4-report"
    rows = list(AggregateRow.objects.filter(dataset=dataset).order_by("id"))
    assert [row.dimensions for row in rows] == [{"page": "/some-page/"}, {"page": "(not set)"}]
    assert rows[0].metrics == {
        "views": 146.0,
        "users": 103.0,
        "Views per active user": 1.4174757281553398,
        "Average engagement time per active user": 53.15533980582524,
        "events": 751.0,
        "key_events": 12.0,
        "revenue": 0.0,
    }
    assert any("comment line" in note for note in dataset.notes)


UA_EXPORT = (
    "# ----------------------------------------\n"
    "# All Web Site Data\n"
    "# Landing Pages\n"
    "# 20150416-20150416\n"
    "# ----------------------------------------\n"
    "\n"
    "Landing Page,Device Category,Sessions,% New Sessions,New Users,Bounce Rate,Pages/Session,"
    "Avg. Session Duration,Goal Conversion Rate,Goal Completions,Goal Value\n"
    "/page?x=1,mobile,553,96.02%,531,92.41%,1.12,00:00:12,0.00%,0,£0.00\n"
    '/,desktop,"2,662",95.30%,"2,537",88.24%,1.19,00:00:18,0.00%,0,£0.00\n'
    ',,"3,215",95.43%,"3,068",88.99%,1.18,00:00:17,0.00%,0,£0.00\n'
    "\n"
    "Day Index,Sessions\n"
    '16/04/2015,"3,215"\n'
    ',"3,215"\n'
)


def test_a_ua_export_skips_its_totals_row_and_second_table_and_says_so(workspace):
    dataset = imported(workspace, UA_EXPORT, "Analytics All Web Site Data Landing Pages.csv")

    assert dataset.source_format == "ua-report"
    rows = list(AggregateRow.objects.filter(dataset=dataset).order_by("id"))
    assert [row.dimensions for row in rows] == [
        {"page": "/page?x=1", "device": "mobile"},
        {"page": "/", "device": "desktop"},
    ]
    assert rows[1].metrics["sessions"] == 2662.0
    assert rows[1].metrics["% New Sessions"] == pytest.approx(0.953)
    assert rows[1].metrics["Avg. Session Duration"] == 18.0
    assert rows[1].metrics["Goal Value"] == 0.0
    assert "Skipped 1 totals row(s)." in dataset.notes
    assert any("Day Index, Sessions" in note for note in dataset.notes)


def test_the_second_table_of_a_ua_export_can_be_picked(workspace):
    dataset = imported(workspace, UA_EXPORT, "ua.csv", options={"table": 1}, mapping={})

    rows = list(AggregateRow.objects.filter(dataset=dataset))
    assert [(row.dimensions, row.metrics) for row in rows] == [
        ({"date": "2015-04-16"}, {"sessions": 3215.0})
    ]
    assert dataset.first_timestamp == dataset.last_timestamp == datetime(2015, 4, 16, tzinfo=UTC)
    assert any("Skipped table 1" in note for note in dataset.notes)


SURVEY_CP1252 = (
    '"","respondent_id","NPS_Score","date","comment"\r\n'
    '"1","r-1",9,"2024-02-01","Très bien, merci"\r\n'
    '"2","r-2",NA,"2024-02-02","NA"\r\n'
    '"3","r-3",7.5,"2024-02-03",""\r\n'
    '"4","r-4",11,"2024-02-03",""\r\n'
    '"5","r-5",0,"2024-02-04","Zu teuer – schade"\r\n'
).encode("cp1252")


def test_an_r_style_latin1_survey_keeps_whole_scores_and_rejects_the_rest(workspace):
    dataset = imported(workspace, SURVEY_CP1252, "nps.csv")

    assert dataset.kind == "survey"
    assert dataset.options["encoding"] == "cp1252"
    responses = list(
        SurveyResponse.objects.filter(dataset=dataset)
        .order_by("id")
        .values_list("score", "user_id", "responded_at", "comment")
    )
    assert responses == [
        (9, "r-1", datetime(2024, 2, 1, tzinfo=UTC), "Très bien, merci"),
        (0, "r-5", datetime(2024, 2, 4, tzinfo=UTC), "Zu teuer – schade"),
    ]
    assert dataset.rejected_count == 3
    assert report_rows(dataset) == [
        ["3", "NPS_Score", "NA", "missing score"],
        ["4", "NPS_Score", "7.5", "score is not a whole number from 0 to 10"],
        ["5", "NPS_Score", "11", "score is not a whole number from 0 to 10"],
    ]


SEMICOLON_DECIMAL_COMMA = (
    "\ufeffZeitstempel;Ereignis;Kunde;Umsatz;Sitzung\n"
    "01.10.2024 09:15;view;K-1;;S-1\n"
    "15.10.2024 09:16;purchase;K-1;1.234,50 €;S-1\n"
)


def test_a_bom_semicolon_file_with_decimal_commas_and_day_first_dates(workspace):
    dataset = imported(
        workspace,
        SEMICOLON_DECIMAL_COMMA,
        "export.csv",
        mapping={
            "Zeitstempel": "timestamp",
            "Ereignis": "event",
            "Kunde": "user_id",
            "Umsatz": "revenue",
            "Sitzung": "session_id",
        },
    )

    assert dataset.options["encoding"] == "utf-8-sig"
    assert dataset.options["delimiter"] == ";"
    assert dataset.options["decimal"] == ","
    assert events(dataset, "timestamp", "event", "revenue") == [
        (datetime(2024, 10, 1, 9, 15, tzinfo=UTC), "view", 0.0),
        (datetime(2024, 10, 15, 9, 16, tzinfo=UTC), "purchase", 1234.5),
    ]


def test_a_utf16_tab_separated_export(workspace):
    text = "timestamp\tevent\tuser_id\n2024-01-01T10:00:00Z\tpage_view\tü-1\n"
    content = codecs.BOM_UTF16_LE + text.encode("utf-16-le")

    dataset = imported(workspace, content, "export.tsv")

    assert dataset.options["encoding"] == "utf-16"
    assert dataset.options["delimiter"] == "\t"
    assert events(dataset, "event", "user_id") == [("page_view", "ü-1")]


def test_a_latin1_event_log(workspace):
    content = "time,event,user\n2024-01-01 10:00,vue,Zoë\n".encode("latin-1")

    dataset = imported(workspace, content, "events.csv")

    assert events(dataset, "event", "user_id") == [("vue", "Zoë")]


def test_a_gzipped_csv(workspace):
    dataset = imported(workspace, gzip.compress(ECOMMERCE_LOG.encode()), "2019-Oct.csv.gz")

    assert dataset.options["compression"] == "gzip"
    assert dataset.row_count == 4


def test_a_zip_holding_one_csv(workspace):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("2019-Oct.csv", ECOMMERCE_LOG)
        archive.writestr("__MACOSX/._2019-Oct.csv", b"\x00\x05\x16\x07")

    dataset = imported(workspace, buffer.getvalue(), "2019-Oct.csv.zip")

    assert dataset.options["member"] == "2019-Oct.csv"
    assert dataset.row_count == 4


def test_a_headerless_whitespace_purchase_log(workspace):
    content = "00001 19970101 1 11.77\n00002 19970112 1 12.00\n00002 19970112 5 77.00\n"

    dataset = imported(workspace, content, "CDNOW_master.txt")

    assert dataset.source_format == "purchase-log"
    assert events(dataset, "timestamp", "event", "user_id", "revenue") == [
        (datetime(1997, 1, 1, tzinfo=UTC), "purchase", "00001", 11.77),
        (datetime(1997, 1, 12, tzinfo=UTC), "purchase", "00002", 12.0),
        (datetime(1997, 1, 12, tzinfo=UTC), "purchase", "00002", 77.0),
    ]


def test_upload_proposes_without_importing(workspace):
    result = upload(workspace, ECOMMERCE_LOG, "2019-Oct.csv")

    assert result.dataset.status == DatasetStatus.PENDING
    assert result.dataset.column_mapping["event_time"] == "timestamp"
    assert Event.objects.count() == 0
