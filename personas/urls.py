from django.urls import path

from personas import views

urlpatterns = [
    path("", views.persona_list, name="persona_list"),
]
