from django.urls import path

from .consumers import BoardConsumer

websocket_urlpatterns = [
    path("ws/w/<int:pk>/", BoardConsumer.as_asgi()),
]
