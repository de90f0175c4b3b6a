"""The demo shop's analytics: a deterministic event log and NPS survey with a real shop's funnel.

`load_demo` writes these files and imports them through the ordinary pipeline, so the demo map's
figures are computed exactly as a customer's would be. The same seed always gives the same files.
"""

import csv
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from journeymap.models import JourneyMap

EVENT_COLUMNS = [
    "timestamp",
    "event",
    "user_id",
    "session_id",
    "page",
    "source",
    "medium",
    "campaign",
    "channel",
    "device",
    "country",
    "revenue",
    "order_id",
]

# (source, medium, campaign, channel, weight): how visitors first arrive.
ACQUISITION = [
    ("google", "cpc", "brand-search", "Paid Search", 18),
    ("instagram", "paid_social", "spring-sale", "Paid Social", 14),
    ("tiktok", "paid_social", "new-in", "Paid Social", 6),
    ("google", "organic", "", "Organic Search", 26),
    ("(direct)", "(none)", "", "Direct", 16),
    ("newsletter", "email", "weekly", "Email", 8),
    ("pricecompare", "affiliate", "sale-partners", "Affiliates", 5),
    ("display-network", "display", "retargeting", "Display", 4),
    ("facebook", "social", "", "Organic Social", 3),
]
DEVICES = [("mobile", 58), ("desktop", 35), ("tablet", 7)]
COUNTRIES = [("DE", 40), ("FR", 20), ("NL", 15), ("AT", 10), ("BE", 8), ("CH", 7)]
PRODUCTS = [
    "/p/linen-shirt",
    "/p/canvas-sneakers",
    "/p/wool-scarf",
    "/p/leather-belt",
    "/p/raincoat",
]


def _pick(rng: random.Random, weighted: list) -> tuple:
    return rng.choices(weighted, weights=[item[-1] for item in weighted])[0]


def _row(
    at: datetime,
    event: str,
    user: str,
    session: str,
    page: str,
    visit: list,
    revenue: float,
    order: str,
) -> list:
    revenue_cell = f"{revenue:.2f}" if revenue else ""
    return [
        at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        event,
        user,
        session,
        page,
        *visit,
        revenue_cell,
        order,
    ]


def write_demo_events(path: Path, *, users: int = 9000, days: int = 105, seed: int = 7) -> int:
    """Write the demo event log as CSV at `path`; return the number of events written."""
    rng = random.Random(seed)
    start = datetime(2026, 8, 1, tzinfo=UTC)
    rows: list[list] = []
    order_number = 1000
    for number in range(1, users + 1):
        user = f"u{number:05d}"
        source, medium, campaign, channel, _ = _pick(rng, ACQUISITION)
        device = _pick(rng, DEVICES)[0]
        country = _pick(rng, COUNTRIES)[0]
        # Bargain hunters convert a little better from price-led traffic.
        propensity = 1.25 if channel in ("Paid Search", "Affiliates") or "sale" in campaign else 1.0
        if device == "mobile":
            propensity *= 0.8  # the slow mobile landing pages of the demo map's pain points
        moment = start + timedelta(seconds=rng.randrange(days * 86400))
        sessions = 1 + min(3, int(rng.expovariate(1.2)))
        purchases = 0
        visit = [source, medium, campaign, channel, device, country]
        for session_number in range(1, sessions + 1):
            session = f"{user}-s{session_number}"
            steps: list[tuple[str, str, float, str]] = []
            steps.append(
                (
                    "page_view",
                    "/" if channel == "Direct" else f"/landing/{campaign or 'home'}",
                    0,
                    "",
                )
            )
            if rng.random() >= 0.38:  # the others bounce: one event in the session
                product = rng.choice(PRODUCTS)
                steps.append(("view_item", product, 0, ""))
                if rng.random() < 0.5:
                    steps.append(("view_item", rng.choice(PRODUCTS), 0, ""))
                if rng.random() < 0.42 * propensity:
                    steps.append(("add_to_cart", product, 0, ""))
                    if rng.random() < 0.15:
                        steps.append(("remove_from_cart", product, 0, ""))
                    if rng.random() < 0.62 * propensity:
                        steps.append(("begin_checkout", "/checkout", 0, ""))
                        if rng.random() < 0.7:
                            order_number += 1
                            basket = round(rng.uniform(25, 90) * rng.choice([1, 1, 1, 2, 3]), 2)
                            steps.append(
                                ("purchase", "/checkout/thanks", basket, f"#{order_number}")
                            )
                            purchases += 1
                if rng.random() < 0.04:
                    steps.append(("chat_started", "/help", 0, ""))
            at = moment
            for event, page, revenue, order in steps:
                at += timedelta(seconds=rng.randint(5, 240))
                rows.append(_row(at, event, user, session, page, visit, revenue, order))
            moment += timedelta(days=rng.uniform(1, 9))
        if purchases:
            at = moment + timedelta(days=rng.uniform(3, 12))
            session = f"{user}-after"
            follow_up = [
                ("review", "/p/review", 0.3),
                ("share", "/share", 0.12),
                ("referral", "/refer", 0.05),
                ("contact_support", "/help/contact", 0.08),
            ]
            for event, page, chance in follow_up:
                if rng.random() < chance:
                    at += timedelta(minutes=rng.randint(1, 20))
                    rows.append(
                        [
                            at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            event,
                            user,
                            session,
                            page,
                            "(direct)",
                            "(none)",
                            "",
                            "Direct",
                            device,
                            country,
                            "",
                            "",
                        ]
                    )
            if rng.random() < 0.22:  # a repeat purchase, brought back by the win-back email
                at += timedelta(days=rng.uniform(10, 30))
                order_number += 1
                session = f"{user}-winback"
                for event, page, revenue, order in (
                    ("page_view", "/landing/win-back", 0.0, ""),
                    (
                        "purchase",
                        "/checkout/thanks",
                        round(rng.uniform(30, 120), 2),
                        f"#{order_number}",
                    ),
                ):
                    at += timedelta(minutes=rng.randint(1, 15))
                    rows.append(
                        [
                            at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            event,
                            user,
                            session,
                            page,
                            "newsletter",
                            "email",
                            "win-back",
                            "Email",
                            device,
                            country,
                            f"{revenue:.2f}" if revenue else "",
                            order,
                        ]
                    )
    # Visitors keep arriving until the last day, so recent weeks compare fairly with earlier ones;
    # what would fall after it (a late repeat purchase) has not happened yet.
    last = (start + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [row for row in rows if row[0] < last]
    rows.sort(key=lambda row: (row[0], row[2]))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(EVENT_COLUMNS)
        writer.writerows(rows)
    return len(rows)


def write_demo_survey(path: Path, *, responses: int = 400, days: int = 105, seed: int = 11) -> int:
    """Write the demo NPS survey (score, user, date, comment) as CSV; return the rows written."""
    rng = random.Random(seed)
    start = datetime(2026, 8, 1, tzinfo=UTC)
    comments = {
        "promoter": ["Fast delivery, great quality.", "Love the linen shirt!", "Easy returns."],
        "passive": ["Fine, but shipping costs were a surprise.", "Good, a bit pricey."],
        "detractor": [
            "The parcel was late and nobody told me.",
            "Checkout kept failing on mobile.",
        ],
    }
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent", "date", "How likely are you to recommend us?", "comment"])
        for _ in range(responses):
            score = rng.choices(range(11), weights=[2, 1, 1, 2, 2, 4, 6, 10, 18, 24, 30])[0]
            group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
            day = start + timedelta(days=rng.randrange(days))
            comment = rng.choice(comments[group]) if rng.random() < 0.6 else ""
            writer.writerow(
                [f"u{rng.randint(1, 9000):05d}", day.date().isoformat(), score, comment]
            )
    return responses


DEMO_EVENTS_NAME = "Demo shop events"
DEMO_SURVEY_NAME = "Demo shop NPS survey"


def demo_datasets_load(*, journey_map: "JourneyMap", user: "AbstractBaseUser | None") -> list[str]:
    """Import the demo event log and survey (once) and attach them to the map; say what was new.

    The files are generated deterministically, so their content hash finds an earlier import of
    them: running this again imports nothing and leaves the same rows.
    """
    from django.core.files import File

    from analytics.models import Dataset, DatasetStatus
    from analytics.services import dataset_attach, dataset_import, dataset_upload

    created = []
    with tempfile.TemporaryDirectory() as folder:
        for name, filename, write in (
            (DEMO_EVENTS_NAME, "demo-shop-events.csv", write_demo_events),
            (DEMO_SURVEY_NAME, "demo-shop-nps.csv", write_demo_survey),
        ):
            path = Path(folder) / filename
            write(path)
            with path.open("rb") as handle:
                upload = dataset_upload(
                    workspace=journey_map.workspace,
                    user=user,
                    file=File(handle, filename),
                    name=name,
                )
            dataset = upload.dataset
            if not upload.duplicate:
                # An earlier run that died half-way left a dataset that never became ready.
                Dataset.objects.filter(
                    workspace=journey_map.workspace, name=name, content_hash=dataset.content_hash
                ).exclude(pk=dataset.pk).exclude(status=DatasetStatus.READY).delete()
                dataset = dataset_import(dataset_id=dataset.pk)
                if dataset.status != DatasetStatus.READY:
                    raise RuntimeError(
                        f"The demo dataset {name} did not import: {dataset.error_message}"
                    )
                created.append(f"dataset {name} ({dataset.row_count:,} rows)")
            if not journey_map.datasets.filter(pk=dataset.pk).exists():
                dataset_attach(dataset=dataset, journey_map=journey_map)
    return created
