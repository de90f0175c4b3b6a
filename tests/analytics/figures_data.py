"""A small shop for the tests of stored figures and the rule builder: a map, its events, personas.

Forty visitors arrive two days apart from Monday 1 January 2024 (so the data spans twelve ISO
weeks, 1 January to 19 March): every one views a page, two in three add to the cart an hour later,
one in four buys two hours later. Odd visitors are on mobile;
every visitor has a "plan" extra property. The map has four stages: Visit, Cart, Purchase (each with
a rule) and Advocacy (without one, so not measured).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from analytics.models import Dataset, DatasetKind, DatasetStatus, Event
from journeymap.models import JourneyMap, Workspace
from personas.models import Persona
from stages.models import Stage, StageKPI
from tests import factories

T0 = datetime(2024, 1, 1, 9, tzinfo=UTC)
VISITORS = 40


def equals(field: str, value: object) -> dict:
    return {"all": [{"field": field, "op": "equals", "value": value}]}


@dataclass
class Shop:
    journey_map: JourneyMap
    visit: Stage
    cart: Stage
    purchase: Stage
    advocacy: Stage
    mobile: Persona  # segment: device equals mobile
    everyone: Persona  # no segment
    users_kpi: StageKPI
    conversion_kpi: StageKPI
    revenue_kpi: StageKPI
    aov_kpi: StageKPI


def shop_events() -> list[Event]:
    """The shop's events, unsaved."""
    events = []
    for number in range(VISITORS):
        start = T0 + timedelta(days=2 * number)
        common = {
            "user_id": f"u{number}",
            "session_id": f"s{number}",
            "device": "mobile" if number % 2 else "desktop",
            "channel": "Paid Search" if number % 5 == 0 else "Organic Search",
            "extra": {"plan": "pro" if number % 3 == 0 else "free"},
        }
        events.append(Event(timestamp=start, event="page_view", page="/", **common))
        if number % 3:
            events.append(
                Event(
                    timestamp=start + timedelta(hours=1),
                    event="add_to_cart",
                    page="/cart",
                    **common,
                )
            )
        if number % 4 == 0:
            events.append(
                Event(
                    timestamp=start + timedelta(hours=2),
                    event="purchase",
                    page="/checkout/done",
                    revenue=20.0 + number,
                    order_id=f"o{number}",
                    **common,
                )
            )
    return events


def events_dataset(workspace: Workspace, events: list[Event], name: str = "Shop events") -> Dataset:
    """A ready events dataset holding `events` (written directly, not imported)."""
    dataset = Dataset.objects.create(
        workspace=workspace,
        name=name,
        kind=DatasetKind.EVENTS,
        status=DatasetStatus.READY,
        content_hash=f"{name}-{Dataset.objects.count()}",
        column_mapping={"plan": "extra"},
    )
    for event in events:
        event.dataset = dataset
    Event.objects.bulk_create(events)
    return dataset


def make_shop(workspace: Workspace, *, with_data: bool = True, name: str = "Shop journey") -> Shop:
    """The shop's map (and, unless `with_data` is false, its events attached to it)."""
    journey_map = factories.make_map(workspace, name)
    visit = factories.make_stage(journey_map, "Visit", kind="awareness")
    factories.make_touchpoint(visit, "Home page", rule=equals("event", "page_view"))
    cart = factories.make_stage(journey_map, "Cart", kind="consideration")
    factories.make_touchpoint(cart, "Basket", rule=equals("event", "add_to_cart"))
    purchase = factories.make_stage(journey_map, "Purchase", kind="purchase")
    factories.make_touchpoint(purchase, "Checkout", rule=equals("event", "purchase"))
    advocacy = factories.make_stage(journey_map, "Advocacy", kind="advocacy")
    factories.make_touchpoint(advocacy, "Reviews")
    mobile = factories.make_persona(workspace, f"Mobile {name}", segment=equals("device", "mobile"))
    everyone = factories.make_persona(workspace, f"Anyone {name}")
    journey_map.personas.add(mobile, everyone)
    shop = Shop(
        journey_map=journey_map,
        visit=visit,
        cart=cart,
        purchase=purchase,
        advocacy=advocacy,
        mobile=mobile,
        everyone=everyone,
        users_kpi=factories.make_kpi(visit, "users", target=30, direction="higher"),
        conversion_kpi=factories.make_kpi(cart, "conversion_rate", target=0.8, direction="higher"),
        revenue_kpi=factories.make_kpi(purchase, "revenue", target=100, direction="higher"),
        aov_kpi=factories.make_kpi(purchase, "aov", target=50, direction="lower"),
    )
    if with_data:
        journey_map.datasets.add(events_dataset(workspace, shop_events()))
    return shop
