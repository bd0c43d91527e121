from django.contrib.auth import views as auth_views
from django.urls import include, path

from wangge.core import views

# The audit log lives under its own namespace ("audit:list").
audit_patterns = (
    [path("", views.audit_list, name="list")],
    "audit",
)

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("audit/", include(audit_patterns)),
]
