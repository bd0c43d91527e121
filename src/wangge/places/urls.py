from django.urls import path

from wangge.places import views

app_name = "places"
urlpatterns = [
    path("", views.browser, name="browser"),
    path("<int:place_id>/", views.browser, name="detail"),
    path("<int:place_id>/children/", views.tree_children, name="children"),
]
