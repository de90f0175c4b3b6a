"""The dataset pages, under /w/<workspace>/datasets/ (admins only)."""

from django.urls import path

from analytics import views

urlpatterns = [
    path("", views.dataset_list, name="dataset_list"),
    path("upload/", views.dataset_upload, name="dataset_upload"),
    path("<int:pk>/", views.dataset_detail, name="dataset_detail"),
    path("<int:pk>/mapping/", views.dataset_mapping, name="dataset_mapping"),
    path("<int:pk>/preview/", views.dataset_preview, name="dataset_preview"),
    path("<int:pk>/retry/", views.dataset_retry, name="dataset_retry"),
    path("<int:pk>/errors.csv", views.dataset_error_report, name="dataset_error_report"),
    path("<int:pk>/maps/", views.dataset_maps, name="dataset_maps"),
    path("<int:pk>/delete/", views.dataset_delete, name="dataset_delete"),
]
