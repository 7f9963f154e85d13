from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "colis.notifications"
    label = "notifications"
