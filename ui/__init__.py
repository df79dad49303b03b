"""Helpers of the Streamlit page (``app.py``): translations, uploads, session state, the map.

These are plain functions that tests call without a browser. The tabs are laid out by one module
each (``tab_*.py``, each with a ``render`` function; ``page.py`` holds what they share); ``app.py``
lays out the sidebar and the headline numbers and calls the tabs. ``static/leaflet-1.9.3`` is
Leaflet (BSD-2-Clause, © Vladimir Agafonkin, CloudMade) shipped with the app so the map draws
without any CDN: the page works offline.
"""
