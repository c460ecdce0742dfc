from articles.content import extract_links, fill_link_mark, render_html, split_paragraphs


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
