from django.urls import path

from . import views

urlpatterns = [
    path("w/<id:pk>/sessions/", views.sessions_page, name="sessions"),
    path("w/<id:pk>/sessions/start/", views.session_start, name="session_start"),
    path("w/<id:pk>/sessions/<id:session_id>/end/", views.session_end, name="session_end"),
    path("w/<id:pk>/sessions/<id:session_id>/rotate/<str:role>/", views.link_rotate,
         name="link_rotate"),
    path("w/<id:pk>/people/<id:participant_id>/remove/", views.participant_remove,
         name="participant_remove"),
    path("w/<id:pk>/people/<id:participant_id>/cofacilitate/", views.cofacilitate,
         name="cofacilitate"),
    path("w/<id:pk>/people/<id:participant_id>/restore/", views.participant_restore,
         name="participant_restore"),
    path("w/<id:pk>/sessions/<id:session_id>/expiry/", views.links_expiry,
         name="links_expiry"),
    path("w/<id:pk>/leave/", views.leave, name="leave"),
    path("w/<id:pk>/room/phase/", views.room_phase, name="room_phase"),
    path("w/<id:pk>/room/timer/", views.room_timer, name="room_timer"),
    path("w/<id:pk>/room/lock/", views.room_lock, name="room_lock"),
    path("w/<id:pk>/room/anonymous/", views.room_anonymous, name="room_anonymous"),
    path("w/<id:pk>/room/spotlight/", views.room_spotlight, name="spotlight"),
    path("w/<id:pk>/vote/open/", views.vote_open, name="vote_open"),
    path("w/<id:pk>/vote/close/", views.vote_close, name="vote_close"),
    path("w/<id:pk>/vote/ballot/", views.ballot, name="ballot"),
    path("w/<id:pk>/live/fragment/", views.live_fragment, name="live_fragment"),
    path("join/<str:token>/", views.join, name="join"),
]
