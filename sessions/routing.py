from django.urls import path, re_path

from .consumers import BoardConsumer, NoSuchSocket

websocket_urlpatterns = [
    path("ws/w/<id:pk>/", BoardConsumer.as_asgi()),
    # Anything else gets a typed error frame and a close code, not a 500 at routing.
    re_path(r"", NoSuchSocket.as_asgi()),
]
