from django.conf import settings
from django.http import HttpRequest

from .models import facilitator_name


def site(request: HttpRequest) -> dict:
    """What every page may need from the server's settings."""
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {"allow_signup": settings.ALLOW_SIGNUP,
            "facilitator_name": facilitator_name(user) if signed_in else ""}
