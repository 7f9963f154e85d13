from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "colis.channels"
    label = "channels"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from colis.channels import handlers, scheduler  # noqa: F401  (register outbox and jobs)
