"""Comments, the activity feed and share links of a map (under /w/<workspace>/maps/<slug>/)."""

urlpatterns: list = []
