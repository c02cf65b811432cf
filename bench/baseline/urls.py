from django.urls import path

from bench.baseline import views

urlpatterns = [
    path("rows", views.RowCreate.as_view()),
    path("rows/<str:row_id>", views.RowDetail.as_view()),
    path("health", views.health),
]
