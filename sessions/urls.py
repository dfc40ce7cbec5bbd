from django.urls import path

from . import views

urlpatterns = [
    path("w/<int:pk>/sessions/", views.sessions_page, name="sessions"),
    path("w/<int:pk>/sessions/start/", views.session_start, name="session_start"),
    path("w/<int:pk>/sessions/<int:session_id>/end/", views.session_end, name="session_end"),
    path("w/<int:pk>/sessions/<int:session_id>/rotate/<str:role>/", views.link_rotate,
         name="link_rotate"),
    path("w/<int:pk>/people/<int:participant_id>/remove/", views.participant_remove,
         name="participant_remove"),
    path("join/<str:token>/", views.join, name="join"),
]
