from django.urls import path

from . import views

urlpatterns = [
    path("w/<id:pk>/export/roadmap.pdf", views.roadmap_pdf, name="export_pdf"),
    path("w/<id:pk>/export/roadmap.md", views.roadmap_markdown, name="export_markdown"),
    path("w/<id:pk>/export/csv.zip", views.csv_zip, name="export_csv"),
    path("w/<id:pk>/export/workshop.json", views.workshop_json, name="export_json"),
    path("w/<id:pk>/duplicate/", views.workshop_duplicate, name="workshop_duplicate"),
    path("w/<id:pk>/next-round/", views.next_round, name="workshop_next_round"),
    path("import/", views.workshop_import, name="workshop_import"),
]
