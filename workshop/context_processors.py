from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict:
    """What every page may need from the server's settings."""
    return {"allow_signup": settings.ALLOW_SIGNUP}
