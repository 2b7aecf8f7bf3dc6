"""The lift report of one experiment, typed.

- `types`: the frozen dataclasses of the report (`Report` and its parts) and their `to_dict()`;
- `jsonform`: their JSON form and OpenAPI schema, both from the dataclasses' type hints;
- `options`: metrics, sequential methods, corrections and `ReportOptions` (settings defaults);
- `looks`: `Look`, the cumulative statistics at one moment (a daily snapshot or the live totals);
- `metrics`: the per-metric analysis (lifts, intervals, p-values, per look);
- `decision`: ship / keep control / stop for no effect / keep running, and days left;
- `assembly`: `report_assemble`, the pure function that puts a report together;
- `csv_export`: the CSV form;
- `format`: labels and percentages as people read them.
"""
