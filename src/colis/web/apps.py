from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "colis.web"
    label = "web"
