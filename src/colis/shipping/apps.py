from django.apps import AppConfig


class ShippingConfig(AppConfig):
    name = "colis.shipping"
    label = "shipping"
