"""The per-map dashboard, under /w/<workspace>/maps/<slug>/."""

from django.urls import path

from analytics import dashboard_views

urlpatterns = [
    path("dashboard/", dashboard_views.map_dashboard, name="map_dashboard"),
    path("dashboard/figures.csv", dashboard_views.map_dashboard_csv, name="map_dashboard_csv"),
]
