from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "colis.catalog"
    label = "catalog"
