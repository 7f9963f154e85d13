from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "colis.web"
    label = "web"

    def ready(self) -> None:
        from colis.web.i18n import catalogs_compile

        catalogs_compile()
