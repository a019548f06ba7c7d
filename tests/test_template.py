from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadcaster.template import MissingFields, render

NOTHING: dict[str, str] = {}


class TestRender:
    def test_tokens_are_replaced(self) -> None:
        fields = {"name": "Ann", "day": "Tue"}
        assert render("Hi {{name}}, see you {{ day }}", fields.get) == "Hi Ann, see you Tue"

    def test_defaults_fill_missing_fields(self) -> None:
        assert render("Hi {{name|friend}}!", NOTHING.get) == "Hi friend!"
        assert render("Hi {{name|}}!", NOTHING.get) == "Hi !"

    def test_a_value_wins_over_the_default(self) -> None:
        assert render("Hi {{name|friend}}", {"name": "Bo"}.get) == "Hi Bo"

    def test_missing_fields_are_all_named_once(self) -> None:
        with pytest.raises(MissingFields) as caught:
            render("{{a}} {{b}} {{a}}", NOTHING.get)
        assert caught.value.names == ("a", "b")
        assert "{{a}}, {{b}}" in str(caught.value)

    def test_values_are_never_rendered_again(self) -> None:
        """A value that looks like a token is inserted as it is."""
        fields = {"name": "{{secret}}", "secret": "leak"}
        assert render("Hi {{name}}", fields.get) == "Hi {{secret}}"

    def test_no_attribute_access_or_code(self) -> None:
        """Dots and brackets are part of a field name, never an expression."""
        fields = {"user.__class__": "x"}
        assert render("{{user.__class__}}", fields.get) == "x"
        with pytest.raises(MissingFields):
            render("{{ __import__('os').system('true') }}", NOTHING.get)

    def test_text_without_tokens_is_unchanged(self) -> None:
        assert render("50% off {not a token} {{}}", NOTHING.get) == "50% off {not a token} {{}}"

    @given(
        st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=20), max_size=5),
        st.text(max_size=60),
    )
    def test_rendering_only_ever_inserts_values(
        self, fields: dict[str, str], template: str
    ) -> None:
        """Whatever the template and values, rendering never fails except by MissingFields,
        and the result is built only from the template's text and the values."""
        try:
            rendered = render(template, fields.get)
        except MissingFields as exc:
            assert all(not fields.get(name) for name in exc.names)
            return
        for name in re.findall(r"\{\{\s*([^{}|]+?)\s*(?:\|[^{}]*)?\}\}", template):
            if fields.get(name) is not None:
                assert fields[name] in rendered
