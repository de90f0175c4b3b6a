from django.urls import path

from personas import views

urlpatterns = [
    path("", views.persona_list, name="persona_list"),
    path("new/", views.persona_create, name="persona_create"),
    path("<int:pk>/", views.persona_detail, name="persona_detail"),
    path("<int:pk>/avatar/", views.persona_avatar, name="persona_avatar"),
    path("<int:pk>/delete/", views.persona_delete, name="persona_delete"),
    path("<int:pk>/sections/<slug:section>/", views.persona_section, name="persona_section"),
    path(
        "<int:pk>/sections/<slug:section>/edit/",
        views.persona_section_edit,
        name="persona_section_edit",
    ),
]
