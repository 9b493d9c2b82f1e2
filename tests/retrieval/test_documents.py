"""What the index embeds per item: the film's content, not its title words (retrieval/documents.py)."""

from __future__ import annotations

from cf_engine.data.catalog import Item
from retrieval.documents import item_document


def test_document_describes_content_without_the_title() -> None:
    item = Item(
        item_id=1, title="Darkman", year=1990, genres=("Action", "Sci-Fi"), tags=("superhero", "revenge")
    )
    doc = item_document(item)
    # A title sharing a word with a request ("dark psychological thriller") made the vector of a
    # film with few tags mostly about that word; the parser finds named titles on its own.
    assert "Darkman" not in doc
    assert doc == "An action science fiction film from 1990. About: superhero, revenge."


def test_item_text_follows_the_tags_and_tags_are_capped() -> None:
    tags = tuple(f"tag{i}" for i in range(30))
    doc = item_document(Item(item_id=2, title="X", genres=("Drama",), tags=tags, text="A long night."))
    assert doc.startswith("A drama film. About: tag0, ")
    assert "tag19" in doc and "tag20" not in doc
    assert doc.endswith("A long night.")


def test_an_item_with_no_content_is_described_by_its_title() -> None:
    doc = item_document(Item(item_id=3, title="Untitled Project", year=2001, genres=("(no genres listed)",)))
    assert doc == "A film from 2001. Title: Untitled Project."
