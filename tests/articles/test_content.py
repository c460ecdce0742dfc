import pytest

from articles.content import (
    excerpt,
    extract_links,
    fill_link_mark,
    link_syntax,
    plain_text,
    render_html,
    split_paragraphs,
    text_blocks,
)


def test_paragraphs_are_blocks_separated_by_blank_lines() -> None:
    assert split_paragraphs("# T\n\nOne\nstill one\n\n\n  \nTwo\n") == ["# T", "One\nstill one", "Two"]


def test_filled_mark_renders_as_a_sponsored_link() -> None:
    paragraph = fill_link_mark(
        "See [[best pillows]] now.",
        anchor_text="best pillows",
        target_url="https://shop.example-store.com/a(b)",
        rel="sponsored",
    )
    html = render_html(paragraph)
    assert '<a href="https://shop.example-store.com/a(b)" rel="sponsored">best pillows</a>' in html
    assert extract_links(paragraph)[0].rel == "sponsored"


def test_editorial_links_carry_no_rel() -> None:
    assert render_html("[wiki](https://wikipedia.org)") == '<p><a href="https://wikipedia.org">wiki</a></p>\n'


def test_raw_html_and_script_urls_never_reach_the_page() -> None:
    html = render_html("<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>")
    assert "<script" not in html
    assert 'href="javascript' not in html
    assert "<img" not in html


def test_unknown_rel_values_are_dropped() -> None:
    html = render_html('[x](https://a.example-site.com){rel="sponsored evil"}')
    assert 'rel="sponsored"' in html


def test_a_tracking_image_is_never_rendered_whatever_its_url() -> None:
    for image in (
        "![x](//evil.example.net/track.gif)",
        "![x](https://evil.example.net/t.gif)",
        "![x](/t.gif)",
    ):
        html = render_html(f"Before {image} after.")
        assert "<img" not in html
        assert "t.gif" not in html and "track.gif" not in html


@pytest.mark.parametrize(
    "href",
    [
        "//evil.example.net/p",
        "/wp-login.php",
        "../secret",
        "page.html",
        "#top",
        "?q=1",
        "https:evil.example.net",
        "/\\evil.example.net/",
        "\\\\evil.example.net/",
        "ftp://evil.example.net/",
        "data:text/html,hi",
    ],
)
def test_a_relative_or_protocol_relative_link_keeps_its_text_and_loses_its_href(href: str) -> None:
    html = render_html(f"[the text](<{href}>)")
    assert "the text" in html
    assert "href" not in html


@pytest.mark.parametrize(
    "href", ["https://shop.example-store.com/a", "http://shop.example-store.com/", "mailto:a@b.example.com"]
)
def test_absolute_http_and_mailto_links_are_kept(href: str) -> None:
    assert f'href="{href}"' in render_html(f"[x](<{href}>)")


def test_link_syntax_names_every_link_image_autolink_and_reference_definition() -> None:
    markdown = (
        "![i](//e.example/t.gif) [l](/x) <https://a.example.com> [r][d]\n\n[d]: //e.example/\n\n[u]: /unused"
    )
    assert link_syntax(markdown) == [
        "image //e.example/t.gif",
        "link /x",
        "autolink https://a.example.com",
        "link //e.example/",
        "reference //e.example/",
        "reference /unused",
    ]
    assert link_syntax("Plain and/or text // with [brackets] and [[a mark]].") == []


HOSTILE = (
    "# A Beginner's Guide to <b>Sleep</b>\n\n"
    "A **bold** move &amp; more, [[memory foam pillows]] and [a link](https://a.example-site.com)"
    '{rel="sponsored"}. Tom &amp;amp; Jerry, **unclosed\n\n'
    "## Keep a schedule\n\n"
    "Going to bed at the same time helps.\n"
)


def test_plain_text_keeps_words_and_drops_marks_markdown_tags_and_entities() -> None:
    assert plain_text(HOSTILE) == (
        "A Beginner's Guide to Sleep. A bold move & more, memory foam pillows and a link. Tom & Jerry, "
        "unclosed Keep a schedule. Going to bed at the same time helps."
    )


def test_a_heading_ends_with_a_full_stop_only_when_it_has_none() -> None:
    assert plain_text("## Why?\n\nBecause.\n\n## Next steps\n\nDo it.") == "Why? Because. Next steps. Do it."


def test_an_excerpt_leaves_out_the_title_heading_and_is_cut_at_a_word() -> None:
    assert excerpt(HOSTILE, limit=40) == "A bold move & more, memory foam pillows…"
    assert excerpt("## Intro\n\nText.", limit=100, title="Intro") == "Text."
    assert excerpt("## Section\n\nText.", limit=100, title="Other") == "Section. Text."


def test_text_blocks_name_heading_levels() -> None:
    assert text_blocks("# T\n\nOne [[x]].\n\n### Sub\n") == [(1, "T"), (0, "One x."), (3, "Sub")]
