"""Snapshots of a map: take, list, restore, compare (under /w/<workspace>/maps/<slug>/history/)."""

from django.urls import path

from journeymap import history_views

urlpatterns = [
    path("", history_views.map_history, name="map_history"),
    path("take/", history_views.snapshot_take, name="snapshot_take"),
    path("<int:pk>.json", history_views.snapshot_download, name="snapshot_download"),
    path("<int:pk>/restore/", history_views.snapshot_restore, name="snapshot_restore"),
]
