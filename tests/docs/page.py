"""Reading a built page: its section headings, its operations and the text of its examples."""

from __future__ import annotations

from html.parser import HTMLParser


class Page(HTMLParser):
    """What the tests look at in a docs page, from its HTML (as built or as a browser has it).

    ``headings`` maps each section's id to its heading text, ``operations`` lists the ids of the
    httpdomain entries (``get--task-(task_id)-status-``), and ``examples`` maps each example
    container's id to its text.
    """

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: dict[str, str] = {}
        self.operations: list[str] = []
        self.examples: dict[str, str] = {}
        self._section: str | None = None
        self._heading: list[str] | None = None
        self._example: str | None = None
        self._depth = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if self._example is not None and tag == "div":
            self._depth += 1
        elif tag == "div" and "esdc-example" in classes:
            self._example, self._depth = attributes.get("id") or "", 1
            self.examples[self._example] = ""
        if tag == "section":
            self._section = attributes.get("id")
        elif tag in {"h1", "h2", "h3"} and self._section is not None:
            self._heading = []
        elif tag == "dt" and "http" in classes and attributes.get("id"):
            self.operations.append(attributes["id"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"h1", "h2", "h3"} and self._heading is not None and self._section:
            self.headings[self._section] = "".join(self._heading).replace("¶", "").strip()
            self._heading = None
        if self._example is not None and tag == "div":
            self._depth -= 1
            if self._depth == 0:
                self._example = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)
        if self._example is not None:
            self.examples[self._example] += data
