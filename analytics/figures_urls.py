"""The stored figures (the workspace overview, a map's figures) and the rule previews, under
/w/<workspace>/."""

from django.urls import path

from analytics import figures_views, overview_views

urlpatterns = [
    path("overview/", overview_views.workspace_overview, name="workspace_overview"),
    path("maps/<slug:slug>/figures/", figures_views.map_figures, name="map_figures"),
    path("maps/<slug:slug>/rules/preview/", figures_views.rule_preview, name="rule_preview"),
    path(
        "personas/<int:pk>/segment/preview/",
        figures_views.segment_preview,
        name="segment_preview",
    ),
    path(
        "cards/touchpoint/<int:pk>/matches/",
        figures_views.touchpoint_matches,
        name="touchpoint_matches",
    ),
]
