from django.urls import path

from experiments import api

urlpatterns = [
    path("assign", api.AssignView.as_view(), name="assign"),
    path("copy", api.CopyView.as_view(), name="copy"),
    path("experiments", api.ExperimentListView.as_view(), name="experiment-list"),
    path("experiments/<slug:key>", api.ExperimentDetailView.as_view(), name="experiment-detail"),
    path("experiments/<slug:key>/config", api.ExperimentConfigView.as_view(), name="experiment-config"),
    path("experiments/<slug:key>/copy.json", api.ExperimentCopyMapView.as_view(), name="experiment-copy-map"),
    path(
        "experiments/<slug:key>/variants/<slug:variant>/copies",
        api.VariantCopiesView.as_view(),
        name="variant-copies",
    ),
    *[
        path(
            f"experiments/<slug:key>/{action}",
            api.ExperimentTransitionView.as_view(action=action),
            name=f"experiment-{action}",
        )
        for action in ("start", "pause", "stop")
    ],
]
