from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from journeymap import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("w/<slug:workspace>/", views.map_list, name="map_list"),
    path("w/<slug:workspace>/maps/new/", views.map_create, name="map_create"),
    path("w/<slug:workspace>/maps/import/", views.map_import, name="map_import"),
    path("w/<slug:workspace>/maps/<slug:slug>/", views.map_detail, name="map_detail"),
    path("w/<slug:workspace>/maps/<slug:slug>/export.json", views.map_export, name="map_export"),
    path(
        "w/<slug:workspace>/maps/<slug:slug>/duplicate/", views.map_duplicate, name="map_duplicate"
    ),
    path("w/<slug:workspace>/maps/<slug:slug>/archive/", views.map_archive, name="map_archive"),
    path("w/<slug:workspace>/maps/<slug:slug>/delete/", views.map_delete, name="map_delete"),
    path("w/<slug:workspace>/personas/", include("personas.urls")),
    path("w/<slug:workspace>/members/", views.member_list, name="member_list"),
    path("w/<slug:workspace>/members/<int:pk>/role/", views.member_role, name="member_role"),
    path("w/<slug:workspace>/members/<int:pk>/remove/", views.member_remove, name="member_remove"),
]
