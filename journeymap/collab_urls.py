"""Comments, the activity feed and share links of a map (under /w/<workspace>/maps/<slug>/)."""

from django.urls import path

from journeymap import collab_views

urlpatterns = [
    path("comments/", collab_views.map_comments, name="map_comments"),
    path("comments/panel/", collab_views.comment_panel, name="comment_panel"),
    path(
        "comments/on/<slug:kind>/<int:target_id>/",
        collab_views.comment_thread,
        name="comment_thread",
    ),
    path(
        "comments/on/<slug:kind>/<int:target_id>/add/",
        collab_views.comment_add,
        name="comment_add",
    ),
    path("comments/<int:pk>/edit/", collab_views.comment_edit, name="comment_edit"),
    path("comments/<int:pk>/delete/", collab_views.comment_delete, name="comment_delete"),
    path("comments/<int:pk>/resolve/", collab_views.comment_resolve, name="comment_resolve"),
    path("comments/<int:pk>/reopen/", collab_views.comment_reopen, name="comment_reopen"),
    path("activity/", collab_views.map_activity, name="map_activity"),
    path("share/", collab_views.share_links, name="share_links"),
    path("share/new/", collab_views.share_link_create, name="share_link_create"),
    path("share/<int:pk>/revoke/", collab_views.share_link_revoke, name="share_link_revoke"),
]
