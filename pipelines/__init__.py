"""rp-impact data and statistics layer. Never imports Streamlit."""

__version__ = "0.1.0"
