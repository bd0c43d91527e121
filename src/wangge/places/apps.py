from django.apps import AppConfig


class PlacesConfig(AppConfig):
    name = "wangge.places"
    label = "places"
