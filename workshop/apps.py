from django.apps import AppConfig


class WorkshopConfig(AppConfig):
    name = "workshop"
    verbose_name = "Workshops"

    def ready(self) -> None:
        # Before any URLconf is read: the HTTP routes and the websocket's use `<id:...>`.
        from django.urls import register_converter

        from .converters import IdConverter

        register_converter(IdConverter, "id")
