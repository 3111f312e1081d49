"""RFC 6266 `Content-Disposition` filename parameters, as werkzeug's `send_file` builds them."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

# C0 and C1 controls (CR, LF, NUL, …): a header may not carry them, and they mean nothing in a name.
_CONTROLS = dict.fromkeys([*range(0x20), 0x7F, *range(0x80, 0xA0)])


def disposition_names(filename: str) -> dict[str, str]:
    """`filename` (ASCII fallback) and, for a non-ASCII name, `filename*=UTF-8''…` (RFC 5987).

    Pass them to `headers.set("Content-Disposition", "attachment", **names)`, as send_file does.
    """
    # Lone surrogates (possible in names read from JSON) cannot be encoded: replace them.
    name = filename.encode("utf-8", "replace").decode("utf-8").translate(_CONTROLS).strip() or "attachment"
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").strip()
        return {"filename": simple or "attachment", "filename*": f"UTF-8''{quote(name, safe='!#$&+-.^_`|~')}"}
    return {"filename": name}
