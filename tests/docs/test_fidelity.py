"""The fidelity page: its figure, and the deviations and known defects listed from the spec."""

from __future__ import annotations

import pytest

from esdc_api import deviations
from esdc_api.docs import fidelity
from esdc_api.spec import load_spec
from tests.conftest import REPO_ROOT
from tests.docs.conftest import Build

PAGE = REPO_ROOT / "docs" / "fidelity.rst"
OPTIONS = {"exchanges": "10", "identical": "6", "order-free": "1", "declared": "3",
           "declared-by": "dc-nul 2, options-description 1", "differing": "1"}  # fmt: skip


def test_every_deviation_and_known_defect_of_the_spec_is_listed_with_a_label() -> None:
    spec = load_spec()
    listed = fidelity.deviations_rst(spec) + fidelity.known_defects_rst(spec)
    for entry in deviations.deviations(spec):
        assert f".. _deviation-{entry.id}:\n\n``{entry.id}``\n" in listed
    for defect in deviations.known_defects(spec):
        assert f".. _defect-{defect.id}:\n\n``{defect.id}`` (4.6)\n" in listed
    assert "*What differs:* ``/description``." in listed
    assert "*The real answer:* ``500`` ``application/json`` with the body ``Server Error``." in (
        listed
    )


def test_an_entry_added_to_the_spec_appears_on_the_page() -> None:
    spec = {"x-deviations": [{"id": "new-one", "summary": "A `thing` of ours.", "reason": "Why.",
                              "when": {"operation": "taskLog", "parameter": "page"},
                              "differs": ["status", "header:Allow"]}]}  # fmt: skip
    text = fidelity.deviations_rst(spec)
    assert "``new-one``\n   A ``thing`` of ours.\n\n   Why.\n" in text
    assert "*When:* operation ``taskLog``; a value of the parameter ``page`` that is anything." in (
        text
    )
    assert "*What differs:* ``status``, ``header:Allow``." in text


@pytest.mark.parametrize(
    ("key", "predicates"),
    [
        ("value", deviations.VALUE_PREDICATES),
        ("body", deviations.BODY_PREDICATES),
        ("accept", deviations.ACCEPT_PREDICATES),
        ("credentials", deviations.CREDENTIAL_PREDICATES),
    ],
)
def test_every_predicate_a_condition_may_name_reads_in_words(
    key: str, predicates: tuple[str, ...]
) -> None:
    assert set(fidelity.PREDICATE_WORDS[key]) == set(predicates)


def test_the_figure_links_each_declaration_to_its_entry() -> None:
    text = fidelity.figure_rst(fidelity.parse_figure(OPTIONS), load_spec())
    assert ":ref:`dc-nul <defect-dc-nul>` 2" in text
    assert ":ref:`options-description <deviation-options-description>` 1" in text
    assert "     - 60.0%" in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"differing": "2"}, "must add up"),
        ({"identical": "six"}, ":identical: must be a count"),
        ({"order-free": "7"}, ":order-free: counts identical exchanges"),
        ({"declared-by": "dc-nul"}, "entries are 'id count'"),
    ],
)
def test_a_figure_that_does_not_add_up_is_refused(change: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fidelity.parse_figure({**OPTIONS, **change})


def test_a_figure_naming_a_declaration_the_spec_lacks_is_refused() -> None:
    figure = fidelity.parse_figure({**OPTIONS, "declared-by": "nonesuch 3"})
    with pytest.raises(ValueError, match="names nonesuch, which the spec does not declare"):
        fidelity.figure_rst(figure, load_spec())


def test_the_page_states_a_figure_that_adds_up() -> None:
    figure = fidelity.figure_in(PAGE.read_text())
    assert figure.exchanges == 593
    assert sum(figure.declared_by.values()) >= figure.declared


def test_the_built_page_shows_the_figure_and_both_lists(built: Build) -> None:
    spec = load_spec()
    page = built.page("fidelity.html")
    assert "How faithful the reference server is" in page
    for entry in [*deviations.deviations(spec), *deviations.known_defects(spec)]:
        assert f'id="{"deviation" if isinstance(entry, deviations.Deviation) else "defect"}-' \
               f'{entry.id}"' in page  # fmt: skip
