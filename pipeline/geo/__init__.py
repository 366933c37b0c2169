"""Geographic data and the offline recogniser: the GeoNames gazetteer and its resolver
(``gazetteer``), the place-name recogniser (``recogniser``), word lists and feature data
(``toponyms``) and the Natural Earth outlines (``basemap``)."""
