from django.apps import AppConfig


class JourneymapConfig(AppConfig):
    name = "journeymap"
    verbose_name = "Journey maps"
