"""The evaluation harness: ``python -m pipeline.evaluate CORPUS...`` scores the offline
path (and the LLM extractor when a key is configured) on annotated corpora, beside the
spaCy-small baseline. ``core`` holds loading and scoring, ``corpora`` and ``areas`` the
SwNE/GeoCorpora readers and the area-containment judge, ``cli`` the command line."""
