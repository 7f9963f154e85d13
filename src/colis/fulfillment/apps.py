from django.apps import AppConfig


class FulfillmentConfig(AppConfig):
    name = "colis.fulfillment"
    label = "fulfillment"

    def ready(self) -> None:
        from colis.core.worker import housekeeping_register
        from colis.fulfillment.backorders import backorders_route, backorders_sweep
        from colis.inventory.hooks import stock_arrival_listen

        stock_arrival_listen(backorders_route)
        # A stock change whose follow-up routing was lost (a crash right after commit) is
        # caught up by the worker within a minute.
        housekeeping_register(backorders_sweep, every=12)
