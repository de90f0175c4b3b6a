from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from journeymap import collab_views, editor_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("s/<str:token>/", collab_views.shared_map, name="shared_map"),  # public, read-only
    path("w/<slug:workspace>/", views.map_list, name="map_list"),
    path("w/<slug:workspace>/maps/new/", views.map_create, name="map_create"),
    path("w/<slug:workspace>/maps/import/", views.map_import, name="map_import"),
    path("w/<slug:workspace>/maps/<slug:slug>/", editor_views.map_editor, name="map_detail"),
    path("w/<slug:workspace>/maps/<slug:slug>/export.json", views.map_export, name="map_export"),
    path(
        "w/<slug:workspace>/maps/<slug:slug>/cards.csv", views.map_export_csv, name="map_export_csv"
    ),
    path(
        "w/<slug:workspace>/maps/<slug:slug>/duplicate/", views.map_duplicate, name="map_duplicate"
    ),
    path("w/<slug:workspace>/maps/<slug:slug>/archive/", views.map_archive, name="map_archive"),
    path("w/<slug:workspace>/maps/<slug:slug>/delete/", views.map_delete, name="map_delete"),
    # The map editor: the map's own fields, its personas, its stages and their cards.
    path(
        "w/<slug:workspace>/maps/<slug:slug>/details/",
        editor_views.map_details,
        name="map_details",
    ),
    path(
        "w/<slug:workspace>/maps/<slug:slug>/details/edit/",
        editor_views.map_details_edit,
        name="map_details_edit",
    ),
    path(
        "w/<slug:workspace>/maps/<slug:slug>/personas/",
        editor_views.map_personas,
        name="map_personas",
    ),
    path(
        "w/<slug:workspace>/maps/<slug:slug>/stages/add/",
        editor_views.stage_create,
        name="stage_create",
    ),
    path(
        "w/<slug:workspace>/stages/<int:pk>/move/", editor_views.stage_reorder, name="stage_reorder"
    ),
    path(
        "w/<slug:workspace>/stages/<int:pk>/delete/", editor_views.stage_remove, name="stage_remove"
    ),
    path(
        "w/<slug:workspace>/stages/<int:pk>/lane/<slug:part>/",
        editor_views.stage_part,
        name="stage_part",
    ),
    path(
        "w/<slug:workspace>/stages/<int:pk>/lane/<slug:part>/edit/",
        editor_views.stage_part_edit,
        name="stage_part_edit",
    ),
    path(
        "w/<slug:workspace>/stages/<int:pk>/cards/<slug:kind>/",
        editor_views.stage_cell,
        name="stage_cell",
    ),
    path(
        "w/<slug:workspace>/stages/<int:pk>/cards/<slug:kind>/add/",
        editor_views.card_add,
        name="card_add",
    ),
    path(
        "w/<slug:workspace>/cards/<slug:kind>/<int:pk>/",
        editor_views.card_detail,
        name="card_detail",
    ),
    path(
        "w/<slug:workspace>/cards/<slug:kind>/<int:pk>/edit/",
        editor_views.card_edit,
        name="card_edit",
    ),
    path(
        "w/<slug:workspace>/cards/<slug:kind>/<int:pk>/delete/",
        editor_views.card_remove,
        name="card_remove",
    ),
    path(
        "w/<slug:workspace>/cards/touchpoint/<int:pk>/move/",
        editor_views.card_move,
        name="card_move",
    ),
    # The map's stored figures, and what a rule matches (analytics).
    path("w/<slug:workspace>/", include("analytics.figures_urls")),
    path("w/<slug:workspace>/maps/<slug:slug>/", include("analytics.dashboard_urls")),
    path("w/<slug:workspace>/maps/<slug:slug>/history/", include("journeymap.history_urls")),
    path("w/<slug:workspace>/maps/<slug:slug>/", include("journeymap.collab_urls")),
    path("w/<slug:workspace>/personas/", include("personas.urls")),
    path("w/<slug:workspace>/datasets/", include("analytics.urls")),
    path("w/<slug:workspace>/members/", views.member_list, name="member_list"),
    path("w/<slug:workspace>/members/<int:pk>/role/", views.member_role, name="member_role"),
    path("w/<slug:workspace>/members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("w/<slug:workspace>/delete/", views.workspace_delete, name="workspace_delete"),
]
