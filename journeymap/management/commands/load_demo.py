"""`load_demo`: the demo workspace, its admin demo/demo and a complete e-commerce map."""

from typing import Any

from django.core.management.base import BaseCommand

from journeymap.services import DEMO_PASSWORD, DEMO_USERNAME, demo_load


class Command(BaseCommand):
    help = (
        "Create the demo workspace, the user demo (password demo), its personas and a complete "
        "5-stage e-commerce map. Idempotent: running it again changes nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        demo = demo_load()
        journey_map = demo.journey_map
        if demo.created:
            self.stdout.write(f"Created {', '.join(demo.created)}.")
        else:
            self.stdout.write("The demo was already loaded; nothing changed.")
        self.stdout.write(
            f"Workspace {demo.workspace.slug} ({demo.workspace.name}): map "
            f"“{journey_map.name}” with {journey_map.stages.count()} stages and "
            f"{journey_map.personas.count()} personas."
        )
        self.stdout.write(
            f"Open {journey_map.get_absolute_url()} on the server "
            f"(make run: http://127.0.0.1:8000{journey_map.get_absolute_url()})"
        )
        self.stdout.write(f"Log in as {DEMO_USERNAME} / {DEMO_PASSWORD}")
