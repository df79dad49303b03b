"""The site-selection models and their solver glue; import them from :mod:`analysis.site_selection`."""
