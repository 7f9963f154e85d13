from django.apps import AppConfig


class LocationsConfig(AppConfig):
    name = "colis.locations"
    label = "locations"
