from django.contrib import admin
from django.urls import include, path

from . import sample_views, views

board = [
    path("", views.board, name="board"),
    path("rename/", views.workshop_rename, name="workshop_rename"),
    path("north-star/", views.north_star, name="north_star"),
    path("s/<slug:key>/add/", views.item_add, name="item_add"),
    path("s/<slug:key>/<id:item_id>/", views.item_detail, name="item_detail"),
    path("s/<slug:key>/<id:item_id>/edit/", views.item_edit, name="item_edit"),
    path("s/<slug:key>/<id:item_id>/delete/", views.item_delete, name="item_delete"),
    path("s/<slug:key>/<id:item_id>/move/", views.item_move, name="item_move"),
    path("s/<slug:key>/<id:item_id>/group/", views.item_group, name="item_group"),
    path("s/<slug:key>/duplicates/", views.duplicates, name="duplicates"),
    path("s/<slug:key>/groups/<id:group_id>/", views.group_edit, name="group_edit"),
    path("s/data_sources/<id:item_id>/sample/", sample_views.sample, name="sample"),
    path("s/data_sources/<id:item_id>/profiles/<id:profile_id>/findings/<int:index>/",
         sample_views.finding, name="finding"),
    path("restore/<id:event_id>/", views.item_restore, name="item_restore"),
    path("roadmap/<id:item_id>/", views.roadmap_card, name="roadmap_card"),
    path("roadmap/<id:item_id>/override/", views.gate_override, name="gate_override"),
    path("agenda/<id:phase_id>/", views.phase_edit, name="phase_edit"),
    path("agenda/<id:phase_id>/move/", views.phase_move, name="phase_move"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/name/", views.account_name, name="account_name"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("w/new/", views.workshop_new, name="workshop_new"),
    path("w/<id:pk>/", include(board)),
    path("", include("sessions.urls")),
    path("", include("exports.urls")),
]
