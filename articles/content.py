"""Markdown bodies: paragraphs, links, sanitized HTML and plain-text previews.

A *paragraph* is a block of the body separated from the next by one or more blank lines,
numbered from 0. Links sold to customers are written ``[anchor](<url>){rel="sponsored"}``
(markdown-it attrs syntax), so readers and search engines see they are sponsored. Which links are
paid is the orders' record, not this text (``articles.services.protected_links``).

What reaches a browser or an email (``render_html``) loads nothing from anywhere: no ``img``
tag at all, and every ``href`` an absolute ``http(s)://host`` or ``mailto:`` URL. Relative,
protocol-relative (``//host``) and scheme-only (``https:host``) URLs are dropped, so stored
Markdown cannot point a reader's browser at another host, nor at one of our own paths.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from mdit_py_plugins.attrs import attrs_plugin

_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n)+")
ALLOWED_REL_VALUES = frozenset({"sponsored", "nofollow", "ugc", "noopener", "noreferrer"})
_ALLOWED_TAGS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "a", "em", "strong", "code", "pre", "blockquote",
    "ul", "ol", "li", "hr", "br", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
# Absolute URLs only: these schemes, and http(s) with a host name.
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_MARK = re.compile(r"\[\[([^\[\]\n]+)\]\]")


@dataclass(frozen=True)
class Link:
    href: str
    text: str
    rel: str


@lru_cache(maxsize=1)
def _md() -> MarkdownIt:
    # Raw HTML in Markdown is never rendered: html=False escapes it.
    return MarkdownIt("commonmark", {"html": False}).use(attrs_plugin, allowed=["rel"]).enable("table")


def split_paragraphs(body: str) -> list[str]:
    text = body.replace("\r\n", "\n").strip("\n")
    return [block for block in _BLANK_LINES.split(text) if block.strip()]


def join_paragraphs(paragraphs: list[str]) -> str:
    return "\n\n".join(paragraphs) + "\n"


def paragraph_extend(paragraph: str, text: str) -> str:
    """``paragraph`` with ``text`` added at its end, after a space (a backlink's appended sentence)."""
    return f"{paragraph.rstrip()} {text}"


def paragraph_extends(paragraph: str, longer: str) -> bool:
    """Whether ``longer`` is ``paragraph`` kept whole with text added at its end (``paragraph_extend``)."""
    return longer.startswith(paragraph_extend(paragraph, ""))


def normalize_href(url: str) -> str:
    """The href markdown-it produces for ``url`` (percent-encoding, punycode)."""
    return str(_md().normalizeLink(url))


def paid_link_markdown(*, anchor_text: str, target_url: str, rel: str) -> str:
    return f'[{anchor_text}](<{target_url}>){{rel="{rel}"}}'


def link_preview_html(*, anchor_text: str, target_url: str, rel: str) -> str:
    """The HTML a paid link will have on the page (``<a href="…" rel="sponsored">anchor</a>``).

    Rendered exactly as the article will render it (``render_html``), so the preview cannot promise
    what the page would not show; callers show it as text (escaped), never as markup.
    """
    html_text = render_html(paid_link_markdown(anchor_text=anchor_text, target_url=target_url, rel=rel))
    return html_text.strip().removeprefix("<p>").removesuffix("</p>")


def fill_link_mark(paragraph: str, *, anchor_text: str, target_url: str, rel: str) -> str:
    """Turn the model's ``[[anchor]]`` mark into the real link; the model never writes URLs."""
    return paragraph.replace(
        f"[[{anchor_text}]]", paid_link_markdown(anchor_text=anchor_text, target_url=target_url, rel=rel), 1
    )


def extract_links(markdown: str) -> list[Link]:
    """Every link in the body, in order, with its visible text and rel."""
    links: list[Link] = []
    for token in _md().parse(markdown):
        open_link: dict[str, str] | None = None
        for child in token.children or []:
            if child.type == "link_open":
                open_link = {
                    "href": str(child.attrs.get("href", "")),
                    "rel": str(child.attrs.get("rel", "")),
                    "text": "",
                }
            elif child.type == "link_close" and open_link is not None:
                links.append(Link(href=open_link["href"], text=open_link["text"], rel=open_link["rel"]))
                open_link = None
            elif open_link is not None and child.type in {"text", "code_inline"}:
                open_link["text"] += child.content
    return links


def link_syntax(markdown: str) -> list[str]:
    """Everything in ``markdown`` that would render as a link or an image, each as ``"<kind> <url>"``.

    Kinds: ``image``, ``link`` (inline or by reference), ``autolink`` (``<https://...>``) and
    ``reference`` (a ``[label]: url`` definition, even unused). Raw HTML is not parsed here: it
    is escaped on rendering, and the ``no_raw_html`` check refuses it.
    """
    env: dict[str, Any] = {}
    found: list[str] = []
    for token in _md().parse(markdown, env):
        for child in token.children or []:
            if child.type == "image":
                found.append(f"image {child.attrs.get('src', '')}")
            elif child.type == "link_open":
                kind = "autolink" if child.markup == "autolink" else "link"
                found.append(f"{kind} {child.attrs.get('href', '')}")
    found.extend(f"reference {ref.get('href', '')}" for ref in env.get("references", {}).values())
    return found


def headings(markdown: str) -> list[tuple[int, str]]:
    """Every heading in the body as ``(level, text)``, in order (``# Title`` is level 1)."""
    found: list[tuple[int, str]] = []
    tokens = _md().parse(markdown)
    for opening, inline in zip(tokens, tokens[1:], strict=False):
        if opening.type == "heading_open":
            found.append((int(opening.tag[1:]), inline.content.strip()))
    return found


def is_absolute_url(value: str) -> bool:
    """An ``http(s)://host...`` or ``mailto:`` URL; anything a browser would resolve against our page is not.

    Browsers read ``\\`` as ``/`` in http(s) URLs, so ``/\\evil.example`` is protocol-relative to
    them: any backslash is refused.
    """
    if "\\" in value or value != value.strip():
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    if parts.scheme not in ALLOWED_URL_SCHEMES:
        return False
    return parts.scheme == "mailto" or bool(parts.hostname)


def _filter_attribute(tag: str, attr: str, value: str) -> str | None:
    if tag == "a" and attr == "rel":
        kept = [part for part in value.split() if part in ALLOWED_REL_VALUES]
        return " ".join(kept) or None
    if attr in {"href", "src"}:
        return value if is_absolute_url(value) else None
    return value


def render_html(markdown: str) -> str:
    """Markdown to HTML, then through nh3 so nothing unsafe reaches a browser or an email.

    No ``img`` (an image is a request to its host: a tracking pixel), and an ``href`` that is
    not absolute (``is_absolute_url``) is removed, leaving the link's text.
    """
    raw = _md().render(markdown)
    return nh3.clean(
        raw,
        tags=_ALLOWED_TAGS,
        attributes={
            "a": {"href", "rel", "title"},
            "th": {"align"},
            "td": {"align"},
        },
        attribute_filter=_filter_attribute,
        link_rel=None,
        url_schemes=set(ALLOWED_URL_SCHEMES),
    )


# What survives rendering but is still Markdown to a reader: runs of emphasis marks and code fences.
_LEFTOVER_SYNTAX = re.compile(r"\*{2,}|_{2,}|`{3,}|\[\[|\]\]")
_TAG_LIKE = re.compile(r"</?[A-Za-z][^<>]*>")
_SENTENCE_END = (".", "!", "?", ":", "…")


def _as_text(fragment_html: str) -> str:
    """Rendered HTML as one line of text: tags dropped, entities decoded (even doubly escaped ones)."""
    text = nh3.clean(fragment_html, tags=set())
    for _ in range(3):  # "&amp;amp;" is still an entity to a reader of plain text
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    text = _LEFTOVER_SYNTAX.sub("", _TAG_LIKE.sub("", text))
    return re.sub(r"\s+", " ", text).strip()


def text_blocks(markdown: str) -> list[tuple[int, str]]:
    """The body as plain-text blocks in order, each ``(heading level, text)``; level 0 for prose.

    ``[[anchor]]`` marks keep their words, links their text, and no Markdown syntax or HTML
    entity is left.
    """
    md = _md()
    renderer = md.renderer
    assert isinstance(renderer, RendererHTML)
    tokens = md.parse(LINK_MARK.sub(r"\1", markdown))
    blocks: list[tuple[int, str]] = []
    for index, token in enumerate(tokens):
        if token.type == "inline":
            opening = tokens[index - 1] if index else None
            level = int(opening.tag[1:]) if opening is not None and opening.type == "heading_open" else 0
            text = _as_text(renderer.renderInline(token.children or [], md.options, {}))
        elif token.type in {"code_block", "fence"}:
            level, text = 0, _as_text(html.escape(token.content))
        else:
            continue
        if text:
            blocks.append((level, text))
    return blocks


def _joined(blocks: list[tuple[int, str]]) -> str:
    """Blocks as running text; a heading ends with a full stop so it never runs into the next sentence."""
    parts = [f"{text}." if level and not text.endswith(_SENTENCE_END) else text for level, text in blocks]
    return " ".join(parts)


def shortened(text: str, limit: int | None) -> str:
    """Plain ``text`` cut at a word to at most ``limit`` characters, "…" ending a cut one."""
    if limit is not None and len(text) > limit:
        cut = text[:limit].rsplit(" ", 1)[0]
        return cut.rstrip(" ,.;:") + "…"
    return text


def plain_text(markdown: str, *, limit: int | None = None) -> str:
    """Readable text without markup: no ``[[…]]`` mark, Markdown syntax, tag or HTML entity.

    Headings are kept (ended with a full stop, so they do not run into the next sentence).
    """
    return shortened(_joined(text_blocks(markdown)), limit)


def excerpt(markdown: str, *, limit: int, title: str = "") -> str:
    """The opening of a body for previews (home page, status API, emails): ``plain_text`` without
    the title. A leading level-1 heading, or a first heading that is ``title``, is the title and is
    left out, since the excerpt is shown under it."""
    blocks = text_blocks(markdown)
    if blocks and blocks[0][0] and (blocks[0][0] == 1 or _as_text(title) == blocks[0][1]):
        blocks = blocks[1:]
    return shortened(_joined(blocks), limit)


@dataclass(frozen=True)
class DiffRow:
    """One row of a side-by-side diff: ``tag`` (equal, replace, insert, delete) and each side's sanitized HTML."""

    tag: str
    base_html: str
    proposal_html: str


def version_diff(base_body: str, proposal_body: str, *, context: int = 1) -> list[DiffRow]:
    """Paragraph-level diff of two bodies, with ``context`` unchanged paragraphs around each change.

    Each side is ``render_html`` output (sanitized): hostile text reaches a page escaped. The
    order review page (a draft against its base) and the article history's compare page use it.
    """
    base, proposal = split_paragraphs(base_body), split_paragraphs(proposal_body)
    rows: list[DiffRow] = []
    for group in difflib.SequenceMatcher(a=base, b=proposal, autojunk=False).get_grouped_opcodes(context):
        for tag, i1, i2, j1, j2 in group:
            left = "".join(render_html(p) for p in base[i1:i2])
            right = "".join(render_html(p) for p in proposal[j1:j2])
            rows.append(DiffRow(tag, left, right))
    return rows
