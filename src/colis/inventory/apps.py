from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "colis.inventory"
    label = "inventory"
