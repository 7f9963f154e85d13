from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "colis.accounts"
    label = "accounts"
