from django.urls import path

from wangge.people import views

app_name = "people"
urlpatterns = [
    path("", views.resident_list, name="residents"),
    path("residents/<int:resident_id>/", views.resident_detail, name="resident"),
    path("residents/<int:resident_id>/reveal/", views.resident_reveal, name="reveal"),
    path("households/<int:household_id>/", views.household_card, name="household"),
    path("buildings/houses/<int:house_id>/", views.house_detail, name="house"),
    path("buildings/", views.building_index, name="buildings"),
    path("buildings/<int:place_id>/room-chart/", views.room_chart, name="room_chart"),
    path("stats/", views.stats, name="stats"),
]
