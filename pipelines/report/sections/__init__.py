"""The report's sections, one module each; every builder takes the `Builder` and returns its
blocks (sub-sections) and the numbers it showed (for `ReportResult.numbers`).

Order matters: tables in the appendix and figures are numbered in the order they are built,
which is the order of the report (`pipelines.report.context.collect`).
"""
