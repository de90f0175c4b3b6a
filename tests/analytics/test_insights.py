"""Insights read off crafted figures: the biggest drop-off, revenue at risk, the belief check, a
KPI that crossed its target."""

from analytics.insights import (
    KpiTarget,
    StageNotes,
    belief_checks,
    biggest_drop_off,
    crossed_targets,
    purchase_stage,
    ranked_cards,
    revenue_at_risk,
)


def stage(position: int, name: str, funnel_users: int | None, **fields: object) -> dict:
    measured = funnel_users is not None
    entry = {
        "position": position,
        "name": name,
        "kind": "custom",
        "measured": measured,
        "revenue": 0.0 if measured else None,
        "funnel_users": funnel_users,
        "conversion_rate": None,
        "drop_off": 0 if measured else None,
    }
    entry.update(fields)
    return entry


def funnel(*users: int | None, aov: float | None = 50.0, kinds: dict | None = None) -> dict:
    """A figures dict whose measured stages hold these funnel users (None: not measured)."""
    stages = []
    before = None
    for position, count in enumerate(users, start=1):
        entry = stage(position, f"S{position}", count, kind=(kinds or {}).get(position, "custom"))
        if count is not None:
            if before is not None:
                entry["drop_off"] = before - count
                entry["conversion_rate"] = count / before if before else None
            before = count
        stages.append(entry)
    return {"totals": {"aov": aov}, "stages": stages}


def test_the_biggest_drop_off_is_the_step_losing_the_most_users() -> None:
    figures = funnel(1000, 600, None, 500, 50)  # S3 not measured: S4 follows S2

    step = biggest_drop_off(figures)

    assert (step.from_name, step.name) == ("S4", "S5")
    assert (step.from_users, step.users, step.drop_off) == (500, 50, 450)
    assert step.conversion_rate == 0.1
    tie = biggest_drop_off(funnel(1000, 600, None, 500, 100))  # 400 lost twice: the first
    assert (tie.from_name, tie.name) == ("S1", "S2")


def test_no_figures_or_no_loss_gives_no_insight() -> None:
    assert biggest_drop_off(None) is None
    assert biggest_drop_off({}) is None
    assert revenue_at_risk(None) == []
    assert belief_checks(None, {}) == []
    assert ranked_cards(revenue_at_risk(None), {}) == []
    assert biggest_drop_off(funnel(100, 100, 100)) is None
    assert biggest_drop_off(funnel(None, None)) is None


def test_the_purchase_stage_is_the_purchase_kind_else_the_last_stage_with_revenue() -> None:
    by_kind = funnel(100, 50, 20, kinds={2: "purchase"})
    assert purchase_stage(by_kind)["name"] == "S2"

    by_revenue = funnel(100, 50, 20)
    by_revenue["stages"][1]["revenue"] = 300.0
    by_revenue["stages"][2]["revenue"] = 120.0
    assert purchase_stage(by_revenue)["name"] == "S3"
    by_revenue["stages"][2]["revenue"] = 0.0
    assert purchase_stage(by_revenue)["name"] == "S2"

    assert purchase_stage(funnel(100, 50)) is None
    assert revenue_at_risk(funnel(100, 50)) == []  # nothing prices a lost user


def test_revenue_at_risk_is_drop_off_times_aov_the_most_money_first() -> None:
    figures = funnel(1000, 900, 300, 250, aov=40.0, kinds={4: "purchase"})

    risks = revenue_at_risk(figures)

    assert [(r.step.name, r.step.drop_off, r.at_risk) for r in risks] == [
        ("S3", 600, 24000.0),
        ("S2", 100, 4000.0),
        ("S4", 50, 2000.0),
    ]
    assert revenue_at_risk(funnel(1000, 900, aov=None, kinds={2: "purchase"})) == []


def test_pain_points_and_opportunities_are_ranked_by_their_stage_money() -> None:
    figures = funnel(1000, 900, 300, aov=10.0, kinds={3: "purchase"})
    notes = {
        1: StageNotes("S2", pain_points=[("Slow search", 2)], opportunities=[("Better search", 4)]),
        2: StageNotes(
            "S3",
            pain_points=[("Shipping cost shown late", 5), ("Form too long", 3)],
            opportunities=[("Show shipping up front", 4)],
        ),
    }

    cards = ranked_cards(revenue_at_risk(figures), notes)

    assert [(card.title, card.at_risk) for card in cards] == [
        ("Shipping cost shown late", 6000.0),
        ("Show shipping up front", 6000.0),
        ("Form too long", 6000.0),
        ("Better search", 1000.0),
        ("Slow search", 1000.0),
    ]
    assert cards[0].kind == "pain point" and cards[1].kind == "opportunity"


def test_belief_check_a_stage_scored_positive_with_the_worst_conversion() -> None:
    figures = funnel(1000, 900, 300, 280)  # S3 converts worst (33%), S4 best (93%)
    notes = {2: StageNotes("S3", emotion=2), 3: StageNotes("S4", emotion=1)}

    (check,) = belief_checks(figures, notes)

    assert check.kind == "feels_fine_converts_worst"
    assert (check.step.name, check.emotion, check.step.drop_off) == ("S3", 2, 600)
    assert check.step.conversion_rate == 300 / 900


def test_belief_check_a_stage_scored_negative_with_the_best_conversion() -> None:
    figures = funnel(1000, 900, 300, 280)
    notes = {2: StageNotes("S3", emotion=-1), 3: StageNotes("S4", emotion=-2)}

    (check,) = belief_checks(figures, notes)

    assert check.kind == "feels_bad_converts_best"
    assert (check.step.name, check.emotion) == ("S4", -2)
    assert check.step.conversion_rate == 280 / 300


def test_no_belief_check_when_feeling_and_data_agree() -> None:
    figures = funnel(1000, 900, 300, 280)
    notes = {2: StageNotes("S3", emotion=-2), 3: StageNotes("S4", emotion=2)}

    assert belief_checks(figures, notes) == []
    assert belief_checks(figures, {}) == []
    assert belief_checks(funnel(1000), {0: StageNotes("S1", emotion=2)}) == []


def period(cart_conversion: float | None, nps: float | None = None) -> dict:
    """A period's figures: Visit then Cart converting at `cart_conversion`, and the totals' NPS."""
    return {
        "totals": {"nps": nps},
        "stages": [
            stage(1, "Visit", 100),
            stage(2, "Cart", 50, conversion_rate=cart_conversion),
        ],
    }


def kpi(metric: str = "conversion_rate", target: float | None = 0.5, **fields: object) -> KpiTarget:
    values = {"index": 1, "stage": "Cart", "label": metric, "direction": "higher"}
    values.update(fields)
    return KpiTarget(metric=metric, target=target, **values)


def test_a_kpi_that_now_meets_its_target_crossed_it() -> None:
    (crossed,) = crossed_targets([kpi()], current=period(0.6), previous=period(0.4))

    assert (crossed.before, crossed.after, crossed.kpi.target) == (0.4, 0.6, 0.5)
    assert crossed.now_met is True
    assert crossed.kpi.stage == "Cart"


def test_a_kpi_that_no_longer_meets_its_target_crossed_it_the_other_way() -> None:
    lower = kpi(direction="lower", target=0.5)  # e.g. a rate the team wants down

    (crossed,) = crossed_targets([lower], current=period(0.6), previous=period(0.4))

    assert (crossed.before, crossed.after) == (0.4, 0.6)
    assert crossed.now_met is False
    (back,) = crossed_targets([kpi()], current=period(0.3), previous=period(0.5))  # 0.5 met it
    assert back.now_met is False


def test_no_crossing_when_both_periods_are_on_the_same_side() -> None:
    assert crossed_targets([kpi()], current=period(0.9), previous=period(0.6)) == []
    assert crossed_targets([kpi()], current=period(0.1), previous=period(0.4)) == []


def test_no_crossing_without_a_target_or_a_value_in_either_period() -> None:
    assert crossed_targets([kpi(target=None)], current=period(0.6), previous=period(0.4)) == []
    assert crossed_targets([kpi()], current=period(0.6), previous=period(None)) == []
    assert crossed_targets([kpi()], current=period(0.6), previous=None) == []
    assert crossed_targets([kpi(index=7)], current=period(0.6), previous=period(0.4)) == []


def test_a_map_total_kpi_is_read_from_the_totals() -> None:
    nps = kpi("nps", target=30, label="NPS")

    (crossed,) = crossed_targets([nps], current=period(0.5, nps=35.0), previous=period(0.5, 20.0))

    assert (crossed.before, crossed.after, crossed.now_met) == (20.0, 35.0, True)
