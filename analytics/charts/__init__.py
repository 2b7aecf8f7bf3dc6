"""Plotly figures (plain JSON dicts) for the report pages.

- `style`: palette, fonts, layout and axis defaults shared by every figure;
- `report`: one experiment's figures (cumulative lift, daily units, funnel, λ trade-off);
- `forest`: the index page's lift of each experiment's leading variant;
- `lambdas`: one category's creativity-vs-conversion curve over λ.

Built as dicts rather than `plotly.graph_objects` so that the web process does not import plotly
for every page; the tests validate every figure against plotly's schema instead. Text that comes
from users (variant keys, experiment keys) only ever lands in figure JSON, which the pages embed
with `json_script` and plotly renders as text.
"""
