from django.urls import path

from wangge.people import ledger_views as views

app_name = "ledger"
urlpatterns = [
    path("", views.ledger_index, name="index"),
    path("template.xlsx", views.ledger_template_download, name="template"),
    path("export.xlsx", views.ledger_export, name="export"),
    path("imports/", views.import_create, name="import_create"),
    path("imports/<int:job_id>/", views.job_detail, name="job"),
    path("imports/<int:job_id>/progress/", views.job_progress, name="job_progress"),
    path("imports/<int:job_id>/errors.xlsx", views.job_errors, name="job_errors"),
    path("imports/<int:job_id>/commit/", views.job_commit, name="job_commit"),
]
