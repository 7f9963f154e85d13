from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "colis.core"
    label = "core"
