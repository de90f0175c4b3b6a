"""Small factories for tests: each builds a valid object with sensible defaults."""

import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from journeymap.models import JourneyMap, Membership, Workspace
from journeymap.scoping import Role
from personas.models import Persona
from stages.models import Stage, StageKPI
from touchpoints.models import Opportunity, PainPoint, Touchpoint

_numbers = itertools.count(1)

PASSWORD = "correct-horse-battery"


def make_user(username: str | None = None, **fields: object) -> AbstractBaseUser:
    username = username or f"user{next(_numbers)}"
    fields.setdefault("email", f"{username}@example.com")
    return get_user_model().objects.create_user(username=username, password=PASSWORD, **fields)


def make_workspace(slug: str | None = None, **fields: object) -> Workspace:
    slug = slug or f"team-{next(_numbers)}"
    fields.setdefault("name", slug.replace("-", " ").title())
    return Workspace.objects.create(slug=slug, **fields)


def make_member(workspace: Workspace, role: str = Role.EDITOR, user=None) -> AbstractBaseUser:
    user = user or make_user()
    Membership.objects.create(workspace=workspace, user=user, role=role)
    return user


def make_map(workspace: Workspace, name: str | None = None, **fields: object) -> JourneyMap:
    name = name or f"Journey {next(_numbers)}"
    fields.setdefault("slug", name.lower().replace(" ", "-"))
    return JourneyMap.objects.create(workspace=workspace, name=name, **fields)


def make_stage(journey_map: JourneyMap, name: str = "Awareness", **fields: object) -> Stage:
    fields.setdefault("position", journey_map.stages.count() + 1)
    return Stage.objects.create(map=journey_map, name=name, **fields)


def make_touchpoint(stage: Stage, name: str = "Instagram ads", **fields: object) -> Touchpoint:
    fields.setdefault("position", stage.touchpoints.count() + 1)
    return Touchpoint.objects.create(stage=stage, name=name, **fields)


def make_kpi(stage: Stage, metric: str = "users", **fields: object) -> StageKPI:
    return StageKPI.objects.create(stage=stage, metric=metric, **fields)


def make_pain_point(stage: Stage, title: str = "Slow page", **fields: object) -> PainPoint:
    return PainPoint.objects.create(stage=stage, title=title, **fields)


def make_opportunity(stage: Stage, title: str = "Faster page", **fields: object) -> Opportunity:
    return Opportunity.objects.create(stage=stage, title=title, **fields)


def make_persona(workspace: Workspace, name: str = "Bargain hunter", **fields: object) -> Persona:
    return Persona.objects.create(workspace=workspace, name=name, **fields)
