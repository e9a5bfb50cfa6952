"""Dashboard pages, run by `st.navigation` in dashboard/app.py, and their shared helpers.

The folder is not called `pages/`: a folder of that name beside app.py switches Streamlit to
its old multipage mode, which never runs app.py and so bypasses the router and the filters.
"""
