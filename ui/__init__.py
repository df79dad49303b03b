"""Helpers of the Streamlit page (``app.py``): translations, uploads, session state, the map.

Everything here is plain functions that tests call without a browser; ``app.py`` only lays out
widgets and calls them. ``static/leaflet-1.9.3`` is Leaflet (BSD-2-Clause, © Vladimir Agafonkin,
CloudMade) shipped with the app so the map draws without any CDN: the page works offline.
"""
