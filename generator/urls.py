"""Generation routes, included by abplatform.urls under api/v1/."""

from django.urls import path

from generator import api

urlpatterns = [
    path("experiments/<slug:key>/generate", api.GenerateView.as_view(), name="experiment-generate"),
    path("generation-jobs/<int:job_id>", api.GenerationJobView.as_view(), name="generation-job-detail"),
]
