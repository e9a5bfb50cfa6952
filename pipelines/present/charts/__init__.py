"""Plotly chart builders: DataFrame(s) in, `plotly.graph_objects.Figure` out.

Every builder is a pure function (no Streamlit, no warehouse) so it can be unit-tested and
reused by the annual report. Each figure has:

- a title that states the finding or the question (wrapped so it fits a phone screen);
- a source line at the bottom (dataset, last upload, population year);
- the Government Analysis Function (GAF) accessible palette and a legible font;
- on every time axis, the rollout marked with a dashed vertical line and a text label;
- categories told apart by marker symbol or line dash as well as colour, never colour alone.

    from pipelines.present import charts
    fig = charts.time_series(series, title=..., source=charts.source_line("outcomes extracts"))

Modules: `style` (palette, template, axis styling, `finish`: the tail every builder shares),
`labels` (titles, source lines, SPC icon text), `timeseries` (rate over time, before/after,
interrupted time series, SPC, financial years), `cohorts` (small multiples, indexed, event
time, event study), `training` (coverage, dose-response), `practice` (p′ chart and change since rollout, gated), `benchmarks` (DfE comparators,
synthetic control) and `tables` (disclosure control and safe CSV for every download, over
`pipelines.disclosure`).
"""

from pipelines.present.charts.benchmarks import (
    benchmark_chart,
    donor_weights_chart,
    synth_gap_chart,
    year_position,
)
from pipelines.present.charts.cohorts import (
    event_study_chart,
    event_time_chart,
    indexed_chart,
    small_multiples,
)
from pipelines.present.charts.labels import (
    ASSURANCE_TEXT,
    TITLE_WIDTH,
    VARIATION_TEXT,
    assurance_label,
    headline_value,
    source_line,
    variation_label,
    wrap,
)
from pipelines.present.charts.style import (
    DARK_BLUE,
    DARK_GREY,
    DARK_PINK,
    DASHES,
    FONT,
    LIGHT_GREY,
    ORANGE,
    PALETTE,
    PLUM,
    SYMBOLS,
    TEMPLATE,
    TURQUOISE,
    X_AXIS_STYLE,
    Y_AXIS_STYLE,
    add_rollout,
    empty_figure,
    marked_line,
)
from pipelines.present.charts.tables import (
    SUPPRESSED,
    csv_bytes,
    disclosure_control,
    escape_formulas,
    iso_dates,
)
from pipelines.present.charts.timeseries import (
    POINT_STYLE,
    add_financial_years,
    before_after_chart,
    before_after_figure,
    financial_year_bands,
    its_chart,
    spc_chart,
    time_series,
)
from pipelines.present.charts.training import dose_response_chart, training_coverage_chart

__all__ = [
    "ASSURANCE_TEXT",
    "DARK_BLUE",
    "DARK_GREY",
    "DARK_PINK",
    "DASHES",
    "FONT",
    "LIGHT_GREY",
    "ORANGE",
    "PALETTE",
    "PLUM",
    "POINT_STYLE",
    "SUPPRESSED",
    "SYMBOLS",
    "TEMPLATE",
    "TITLE_WIDTH",
    "TURQUOISE",
    "VARIATION_TEXT",
    "X_AXIS_STYLE",
    "Y_AXIS_STYLE",
    "add_financial_years",
    "add_rollout",
    "assurance_label",
    "before_after_chart",
    "before_after_figure",
    "benchmark_chart",
    "csv_bytes",
    "disclosure_control",
    "donor_weights_chart",
    "dose_response_chart",
    "empty_figure",
    "escape_formulas",
    "event_study_chart",
    "event_time_chart",
    "financial_year_bands",
    "headline_value",
    "indexed_chart",
    "iso_dates",
    "its_chart",
    "marked_line",
    "small_multiples",
    "source_line",
    "spc_chart",
    "synth_gap_chart",
    "time_series",
    "training_coverage_chart",
    "variation_label",
    "wrap",
    "year_position",
]
