"""The stages, one module each: fetch -> transcribe (only without subtitles) -> compress ->
extract -> geocode. Each is a function of plain records (``pipeline.datatypes``); the
runner (``pipeline.runner``) wires them."""
