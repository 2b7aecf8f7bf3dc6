"""Every figure the pages draw is valid plotly (checked against plotly's schema, as plotly.js would)."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from analytics import services
from analytics.charts.forest import ForestRow, forest_chart
from analytics.charts.lambdas import lambda_chart
from analytics.charts.report import cumulative_lift_chart, daily_units_chart, funnel_chart, tradeoff_chart
from analytics.lambdas import lambda_report_build
from tests.analytics.factories import Truth, candidates_for, sweep_experiment, traffic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


def test_report_figures_are_valid(make_experiment):
    experiment = make_experiment(start=True)
    traffic(experiment, units=900, days=4, seed=41, truths={"llm-l060": Truth(0.15, 0.07)})
    report = services.report_build(experiment=experiment, backfill="now")
    lift = cumulative_lift_chart(report)
    go.Figure(lift)
    # Three traces (band low, band high, estimate) per metric and treatment; the primary metric shows first.
    assert len(lift["data"]) == 3 * 2 * len(report.metrics)
    assert sum(1 for trace in lift["data"] if trace["visible"]) == 6
    assert len(lift["layout"]["updatemenus"][0]["buttons"]) == len(report.metrics)
    for figure in (daily_units_chart(report), funnel_chart(report)):
        assert figure["data"] and go.Figure(figure)
    by_lambda = tradeoff_chart(report)  # no generator records: λ on the x axis
    assert "λ" in by_lambda["layout"]["xaxis"]["title"]["text"] and go.Figure(by_lambda)
    candidates_for(experiment)
    report = services.report_build(experiment=experiment)
    by_diversity = tradeoff_chart(report)
    assert "diversity" in by_diversity["layout"]["xaxis"]["title"]["text"] and go.Figure(by_diversity)
    forest = forest_chart(
        [ForestRow(experiment="e", variant="v", metric="ctr", lift=0.1, ci=(0.0, 0.2), status="ship")]
    )
    go.Figure(forest)


def test_lambda_figure_is_valid(make_experiment, product):
    experiment = sweep_experiment(make_experiment, key="app", category="Apparel", sku="APP-T9", units=1500, seed=5)
    candidates_for(experiment)
    entries = {e.category: e for e in lambda_report_build()}
    figure = lambda_chart(entries["Apparel"])
    go.Figure(figure)
    names = [trace["name"] for trace in figure["data"]]
    assert names[:2] == ["CVR lift (pooled arms)", "CTR lift (pooled arms)"] and "copy diversity" in names
    assert lambda_chart(entries["FMCG"]) is None
