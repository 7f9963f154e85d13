from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    name = "colis.returns"
    label = "returns"
