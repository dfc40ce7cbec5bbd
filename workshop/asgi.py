"""ASGI entry point: Django for HTTP, the board's consumer for websockets.

Websockets pass the Origin check against ALLOWED_HOSTS and carry the Django
session and user, so the consumer checks the same membership as the views.
"""

import asyncio
import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workshop.settings")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does

from workshop.handler import OneThreadASGIHandler  # noqa: E402

django_asgi_app = OneThreadASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from sessions.broadcast import BROADCASTER  # noqa: E402
from sessions.routing import websocket_urlpatterns  # noqa: E402
from workshop.bodylimit import BodyLimit  # noqa: E402

# Everything loaded so far lives as long as the process: move it out of the garbage
# collector's sight, so full collections stop pausing the event loop for ~100 ms
# (measured by bench/live_board.py; the pauses set the live board's p99).
gc.collect()
gc.freeze()



class BindBroadcaster:
    """Tell the broadcaster which event loop serves this process (it sends through it)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        BROADCASTER.bind(asyncio.get_running_loop())
        return await self.app(scope, receive, send)


application = BindBroadcaster(ProtocolTypeRouter({
    "http": BodyLimit(django_asgi_app),
    "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
}))
