from django.apps import AppConfig


class LiveSessionsConfig(AppConfig):
    # The label must differ from django.contrib.sessions' "sessions".
    name = "sessions"
    label = "live"
    verbose_name = "Live sessions"
