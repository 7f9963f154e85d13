from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "colis.orders"
    label = "orders"
