from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "colis.orders"
    label = "orders"

    def ready(self) -> None:
        from colis.orders import (
            bulk_actions,  # noqa: F401  (bulk jobs and their recovery)
            retention,  # noqa: F401  (the daily redaction run)
        )
