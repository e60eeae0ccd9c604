"""Canonical URLs: one spelling per page, so duplicates and "already reported" can be found."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# Query parameters that identify a campaign or a click, never the content.
TRACKING_PARAMS = {
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "yclid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "ref_src",
    "ref_url",
    "spm",
    "cmpid",
    "s_cid",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "wt_mc",
    "__s",
    "ncid",
    "sr_share",
}
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")
DEFAULT_PORTS = {"http": 80, "https": 443}

_SIMPLE_URL = re.compile(r"(?i)(https?)://([^/?#@\s]+)([^?#\s]*)(?:\?([^#\s]*))?(?:#.*)?")


def canonical_url(url: str) -> str:
    """Normalise a URL: lower-case scheme and host, no default port, credentials, tracking
    parameters or fragment. Kept query parameters are sorted, their encoding left as is."""
    url = url.strip()
    match = _SIMPLE_URL.fullmatch(url)
    if match:
        scheme, host, path, query = match.groups()
    else:
        try:
            parts = urlsplit(url)
        except ValueError:
            return url
        scheme, host, path, query = (
            parts.scheme,
            parts.netloc.rpartition("@")[2],
            parts.path,
            parts.query,
        )
    scheme, host = scheme.lower(), host.lower()
    default = DEFAULT_PORTS.get(scheme)
    if default and host.endswith(f":{default}"):
        host = host[: -len(str(default)) - 1]
    host = host.rstrip(".")
    if query:
        query = "&".join(
            sorted(
                pair
                for pair in query.split("&")
                if pair and not _is_tracking(pair.partition("=")[0].lower())
            )
        )
    return urlunsplit((scheme, host, path or "/", query or "", ""))


def _is_tracking(key: str) -> bool:
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)
