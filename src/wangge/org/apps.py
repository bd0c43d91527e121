from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "wangge.org"
    label = "org"
