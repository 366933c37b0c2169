"""Offline toponym data and helpers (GeoNames-based gazetteer, text folding, word lists).

``pipeline.geo.gazetteer`` (lookup + geocoder) and ``pipeline.geo.recogniser``
(recognition) are the public entry points; this package holds their parts.
"""
