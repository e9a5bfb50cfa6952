"""What the dashboard and the report both show, built once: wording and figure builders.

Pure: no Streamlit, no warehouse. `wording` formats numbers, dates and confidence grades;
`charts` turns analysis results into plotly figures.
"""
