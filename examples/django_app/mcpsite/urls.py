from django.urls import path

from . import views

urlpatterns = [
    path("tools", views.tools),
    path("tools/<str:name>", views.call_tool),
]
