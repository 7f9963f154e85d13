from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "colis.partners"
    label = "partners"
