"""Links that open a video at a given second (for map popups and exports)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def _with_query_time(url: str, value: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "t"]
    query.append(("t", value))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _with_fragment_time(url: str, value: str) -> str:
    return urlunsplit(urlsplit(url)._replace(fragment=f"t={value}"))


def url_at_time(url: str | None, platform: str, seconds: float) -> str | None:
    """``url`` opened at ``seconds`` (rounded down), or None where no link can be made.

    YouTube (also youtu.be) ``t=<n>s`` and Bilibili ``t=<n>`` go in the query,
    Vimeo ``#t=<n>s`` in the fragment; an existing ``t`` is replaced. Local
    files and unknown platforms give None.
    """
    if not url or not url.lower().startswith(("http://", "https://")):
        return None
    platform = (platform or "").lower()
    whole = max(0, int(seconds or 0))
    if platform.startswith("youtube"):
        return _with_query_time(url, f"{whole}s")
    if platform.startswith("bilibili"):
        return _with_query_time(url, str(whole))
    if platform.startswith("vimeo"):
        return _with_fragment_time(url, f"{whole}s")
    return None
