"""Tables as HTML, for the objects a notebook shows as a table (`_repr_html_`).

One helper, so that every table escapes its text: a class folder called `<b>` or a method named
`a & b` shows as written instead of becoming markup.

    >>> html_table(("class", "images"), [("cats & dogs", 3)])
    '<table><thead><tr><th>class</th><th>images</th></tr></thead><tbody><tr><td>cats &amp; dogs</td><td>3</td></tr></tbody></table>'
"""

from __future__ import annotations

import html
from typing import Iterable, Sequence


def html_table(columns: Sequence[object], rows: Iterable[Sequence[object]], caption: str | None = None) -> str:
    """An HTML table of `rows` under the header `columns`, every cell (and the caption) escaped."""
    cell = lambda tag, value: f"<{tag}>{html.escape(str(value))}</{tag}>"  # noqa: E731
    head = "<tr>" + "".join(cell("th", c) for c in columns) + "</tr>"
    body = "".join("<tr>" + "".join(cell("td", v) for v in row) + "</tr>" for row in rows)
    top = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{top}<thead>{head}</thead><tbody>{body}</tbody></table>"
