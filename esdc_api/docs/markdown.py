"""CommonMark, as the spec's descriptions are written, turned into reStructuredText.

The spec's prose uses a small part of CommonMark: headings, paragraphs, lists, inline code,
emphasis and links. This renders that part with markdown-it-py's parse tree, so that the API-wide
rules in ``info.description`` and every operation's description appear in the docs as written.
reST cannot nest inline markup, so code inside bold or italics is shown as plain bold or italics.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

#: Characters that start or end inline markup in reST, escaped in plain text.
_SPECIAL = re.compile(r"([\\`*_|])")
#: What may stand right before inline markup, and right after it, without an escape.
_BEFORE = set(" \n\t-:/'\"<([{")
_AFTER = set(" \n\t-.,:;!?\\/'\")]}>")

_parser = MarkdownIt("commonmark")


def slug(text: str) -> str:
    """A heading as a label: ``"Base URL and trailing slashes"`` → ``base-url-and-...``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def to_rst(text: str, *, underlines: str = "-~^", label_prefix: str | None = None) -> str:
    """Render the CommonMark ``text`` as reST.

    :param underlines: the characters that underline headings, for the shallowest heading level
        found in ``text`` and the deeper ones after it.
    :param label_prefix: if given, each heading gets the label ``<label_prefix>-<slug>``.
    """
    tree = SyntaxTreeNode(_parser.parse(text))
    levels = sorted({int(node.tag[1]) for node in tree.walk() if node.type == "heading"})
    renderer = _Renderer(
        {level: underlines[min(i, len(underlines) - 1)] for i, level in enumerate(levels)},
        label_prefix,
    )
    return renderer.blocks(tree.children).strip("\n") + "\n"


def inline_to_rst(text: str) -> str:
    """Render one line of CommonMark (a summary, a table cell) as inline reST."""
    tree = SyntaxTreeNode(_parser.parse(text))
    return " ".join(
        _Renderer({}, None).inline(node.children) for node in tree.walk() if node.type == "inline"
    )


class _Renderer:
    def __init__(self, underlines: dict[int, str], label_prefix: str | None) -> None:
        self.underlines = underlines
        self.label_prefix = label_prefix

    def blocks(self, nodes: list[SyntaxTreeNode]) -> str:
        return "".join(self.block(node) for node in nodes)

    def block(self, node: SyntaxTreeNode) -> str:
        kind = node.type
        if kind == "heading":
            title = self.inline(node.children[0].children)
            label = f".. _{self.label_prefix}-{slug(title)}:\n\n" if self.label_prefix else ""
            return f"{label}{title}\n{self.underlines[int(node.tag[1])] * len(title)}\n\n"
        if kind == "paragraph":
            return self.inline(node.children[0].children) + "\n\n"
        if kind in ("bullet_list", "ordered_list"):
            marker = "* " if kind == "bullet_list" else "#. "
            return "".join(self.item(item, marker) for item in node.children) + "\n"
        if kind in ("fence", "code_block"):
            language = (node.info or "text").split()[0] if kind == "fence" else "text"
            return f".. code-block:: {language}\n\n{_indent(node.content.rstrip(), 3)}\n\n"
        if kind == "blockquote":
            return _indent(self.blocks(node.children).rstrip("\n"), 3) + "\n\n"
        if kind in ("html_block", "hr"):
            return ""  # the spec's prose has none; raw HTML would not survive other builders
        raise ValueError(
            f"cannot render CommonMark {kind!r} as reST; extend esdc_api.docs.markdown"
        )

    def item(self, node: SyntaxTreeNode, marker: str) -> str:
        body = self.blocks(node.children).strip("\n")
        first, _, rest = body.partition("\n")
        indented = _indent(rest, len(marker)) if rest else ""
        return f"{marker}{first}\n{indented}{chr(10) if rest else ''}"

    def inline(self, nodes: list[SyntaxTreeNode], *, plain_code: bool = False) -> str:
        out = ""
        for node in nodes:
            kind = node.type
            if kind == "text":
                out += _escape(node.content)
            elif kind == "softbreak":
                out += " "
            elif kind == "hardbreak":
                out += "\n"
            elif kind == "code_inline":
                out = _markup(out, _escape(node.content) if plain_code else f"``{node.content}``")
            elif kind in ("strong", "em"):
                mark = "**" if kind == "strong" else "*"
                inner = self.inline(node.children, plain_code=True).strip()
                out = _markup(out, f"{mark}{inner}{mark}")
            elif kind == "link":
                text = self.inline(node.children, plain_code=True).strip() or node.attrs["href"]
                out = _markup(out, f"`{text} <{node.attrs['href']}>`__")
            else:
                out += _escape(node.content)
        return _close_markup(out)


_MARK_END = "\x00"  # where a piece of markup ended, until we know what follows it


def _markup(before: str, markup: str) -> str:
    before = _close_markup(before)
    if before and before[-1] not in _BEFORE:
        before += "\\ "
    return before + markup + _MARK_END


def _close_markup(text: str) -> str:
    """Replace each end-of-markup mark with an escaped space where a word goes on after it."""
    parts = text.split(_MARK_END)
    result = parts[0]
    for part in parts[1:]:
        if part and part[0] not in _AFTER:
            result += "\\ "
        result += part
    return result


def _escape(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", text)


def _indent(text: str, width: int) -> str:
    pad = " " * width
    return "\n".join(pad + line if line.strip() else "" for line in text.splitlines())
