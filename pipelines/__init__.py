"""rp-impact data and statistics layer. Never imports Streamlit."""

import os

# openpyxl reads a formula's saved value differently through lxml (installed beside pikepdf,
# and on many council machines): pin its own parser, before anything imports openpyxl, so an
# XLSX extract reads the same wherever rp-impact runs (tests/test_xlsx.py).
os.environ.setdefault("OPENPYXL_LXML", "False")

__version__ = "0.1.0"
