"""Offline toponym data and helpers (GeoNames-based gazetteer, text folding, word lists).

``pipeline.gazetteer`` (lookup + geocoder) and ``pipeline.extract_offline``
(recognition) are the public entry points; this package holds their parts.
"""
