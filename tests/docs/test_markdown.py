"""The spec's CommonMark as reST: what the descriptions use comes out as Sphinx reads it."""

from __future__ import annotations

from esdc_api.docs.markdown import inline_to_rst, slug, to_rst


def test_inline_code_next_to_a_word_is_separated_by_an_escaped_space() -> None:
    assert inline_to_rst("the `dc`s and `x`") == "the ``dc``\\ s and ``x``"


def test_code_inside_bold_becomes_plain_bold_text() -> None:
    assert inline_to_rst("**Without `page`**: last") == "**Without page**: last"


def test_characters_that_start_rest_markup_are_escaped_in_text() -> None:
    assert inline_to_rst("a_b *c* |d|") == "a\\_b *c* \\|d\\|"


def test_headings_become_labelled_sections_with_the_given_underlines() -> None:
    text = to_rst(
        "## Base URL\n\nText.\n\n### Deeper\n\nMore.", underlines="-~", label_prefix="api"
    )
    assert ".. _api-base-url:\n\nBase URL\n--------\n" in text
    assert "Deeper\n~~~~~~\n" in text


def test_lists_keep_their_items_and_links_become_anonymous_references() -> None:
    text = to_rst("Modes:\n\n- **one**: a\n- two [docs](https://example.com)\n")
    assert "* **one**: a\n* two `docs <https://example.com>`__\n" in text


def test_a_slug_is_lowercase_words_joined_by_dashes() -> None:
    assert slug("Synchronous and asynchronous calls") == "synchronous-and-asynchronous-calls"
