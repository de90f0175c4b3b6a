"""Snapshots of a map: take, list, restore, compare (under /w/<workspace>/maps/<slug>/history/)."""

urlpatterns: list = []
