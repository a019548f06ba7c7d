from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadcaster.fields import FieldError
from broadcaster.template import (
    MissingFields,
    TemplateSyntaxError,
    check_template,
    render,
    unmatched_fields,
)

NOTHING: dict[str, str] = {}


def empty(_: str) -> str:
    """Every field present, and empty."""
    return ""


class TestRender:
    def test_tokens_are_replaced(self) -> None:
        fields = {"name": "Ann", "day": "Tue"}
        assert render("Hi {{name}}, see you {{ day }}", fields.get) == "Hi Ann, see you Tue"

    def test_defaults_fill_missing_fields(self) -> None:
        assert render("Hi {{name|friend}}!", NOTHING.get) == "Hi friend!"
        assert render("Hi {{name|}}!", NOTHING.get) == "Hi !"

    def test_a_default_keeps_its_spaces_and_bars(self) -> None:
        assert render("Hi {{ name | dear friend|s }}!", NOTHING.get) == "Hi  dear friend|s !"

    def test_a_value_wins_over_the_default(self) -> None:
        assert render("Hi {{name|friend}}", {"name": "Bo"}.get) == "Hi Bo"

    def test_names_may_hold_spaces(self) -> None:
        """A column header such as ``first name`` is a name; white space around it is not."""
        assert render("Hi {{ first name }}", {"first name": "Ann"}.get) == "Hi Ann"

    def test_missing_fields_are_all_named_once(self) -> None:
        with pytest.raises(MissingFields) as caught:
            render("{{a}} {{b}} {{a}}", NOTHING.get)
        assert caught.value.names == ("a", "b")
        assert "{{a}}, {{b}}" in str(caught.value)

    def test_values_are_never_rendered_again(self) -> None:
        """A value that looks like a token is inserted as it is."""
        fields = {"name": "{{secret}}", "secret": "leak"}
        assert render("Hi {{name}}", fields.get) == "Hi {{secret}}"

    @pytest.mark.parametrize("value", ["{{x}}", "}}", "{{", "{first_name}", "{{{a", "{{}}"])
    def test_values_holding_template_syntax_are_never_checked(self, value: str) -> None:
        """Braces a value brings are the customer's text, not a mistake in the template."""
        assert render("<{{v}}>", {"v": value}.get) == f"<{value}>"

    def test_a_token_is_a_plain_name_never_an_attribute_or_code(self) -> None:
        """Dots and brackets are part of a field name, never an expression."""
        fields = {"user.__class__": "x"}
        assert render("{{user.__class__}}", fields.get) == "x"
        with pytest.raises(MissingFields):
            render("{{ __import__('os').system('true') }}", NOTHING.get)

    def test_text_without_tokens_is_unchanged(self) -> None:
        assert render("50% off {not a token} :-}", NOTHING.get) == "50% off {not a token} :-}"
        assert render("", NOTHING.get) == ""

    def test_a_template_mistake_is_raised_before_any_lookup(self) -> None:
        looked_up: list[str] = []

        def lookup(name: str) -> str:
            looked_up.append(name)
            return "x"

        with pytest.raises(TemplateSyntaxError):
            render("{{a}} {{b}", lookup)
        assert looked_up == []

    @given(
        st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=20), max_size=5),
        st.text(alphabet=st.sampled_from("{}|ab _.\n"), max_size=30) | st.text(max_size=60),
    )
    def test_rendering_fails_only_by_a_mistake_or_a_missing_field(
        self, fields: dict[str, str], template: str
    ) -> None:
        """Whatever the template and values, render raises nothing but these two, and a
        field it calls missing has no value."""
        try:
            render(template, fields.get)
        except TemplateSyntaxError:
            return
        except MissingFields as exc:
            assert all(fields.get(name) is None for name in exc.names)

    @given(st.text(alphabet=st.sampled_from("{}|ab _.-1\n"), max_size=40))
    def test_a_template_that_passes_leaves_no_token_syntax_behind(self, template: str) -> None:
        """Every ``{{`` and ``}}`` of a checked template belongs to a token render replaces."""
        try:
            check_template(template)
        except TemplateSyntaxError:
            return
        rendered = render(template, empty)
        assert "{{" not in rendered
        assert "}}" not in rendered


SAFE_TEXT = st.text(st.characters(blacklist_characters="{}"), max_size=12)
NAMES = st.text(st.characters(blacklist_characters="{}|"), min_size=1, max_size=8).filter(str.strip)
SPACES = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def templates(draw: st.DrawFn) -> tuple[str, str, dict[str, str]]:
    """Safe text and well-formed tokens; the template, what it renders to, and the values."""
    template: list[str] = [draw(SAFE_TEXT)]
    expected: list[str] = list(template)
    values: dict[str, str] = {}
    for _ in range(draw(st.integers(0, 4))):
        name = draw(NAMES)
        value = values.setdefault(name.strip(), draw(SAFE_TEXT))
        default = draw(st.none() | SAFE_TEXT)
        token = draw(SPACES) + name + draw(SPACES)
        if default is not None:
            token += "|" + default
        text = draw(SAFE_TEXT)
        template += ["{{", token, "}}", text]
        expected += [value, text]
    return "".join(template), "".join(expected), values


class TestWellFormedTemplates:
    @given(templates())
    def test_safe_text_and_tokens_pass_and_render_every_token(
        self, case: tuple[str, str, dict[str, str]]
    ) -> None:
        template, expected, values = case
        check_template(template)
        rendered = render(template, values.get)
        assert rendered == expected
        assert "{{" not in rendered

    @pytest.mark.parametrize(
        "template",
        [
            "Smile :-} or :-{",
            "{not a token}",
            "{ }",
            "{1}",
            "{0} {42}",
            "if (x) { y(); }",
            "{.}",
            "{ first name }",
            "unbalanced { here",
            "and } here",
            "{a b}",
            '{"json": 1}',
            "{{a}} {b c} {{d}}",
        ],
    )
    def test_single_braces_that_are_not_a_word_are_text(self, template: str) -> None:
        check_template(template)


class TestTemplateMistakes:
    def test_mistakes_are_field_errors(self) -> None:
        """So the plan reports them as an invalid row naming the field."""
        assert issubclass(TemplateSyntaxError, FieldError)

    @pytest.mark.parametrize(
        ("template", "message"),
        [
            (
                "Hi {{first_name}, see you",
                "unclosed merge field '{{first_name}' at character 4: write {{first_name}}",
            ),
            ("Hi {{first_name", "unclosed merge field '{{first_name' at character 4"),
            ("{{a {{b}}", "unclosed merge field '{{a' at character 1"),
            ("{{a|x}", "unclosed merge field '{{a|x}' at character 1: write {{a|x}}"),
            ("Hi {{name}\nBye", "unclosed merge field '{{name}' at character 4: write {{name}}"),
        ],
    )
    def test_unclosed_token_is_an_error(self, template: str, message: str) -> None:
        with pytest.raises(TemplateSyntaxError) as caught:
            check_template(template)
        assert str(caught.value) == message

    @pytest.mark.parametrize("template", ["{{}}", "{{ }}", "{{|friend}}", "{{  |x}}"])
    def test_empty_token_is_an_error(self, template: str) -> None:
        with pytest.raises(TemplateSyntaxError) as caught:
            check_template(f"Hi {template}")
        assert str(caught.value) == f"empty merge field '{template}' at character 4"

    @pytest.mark.parametrize(
        ("template", "message"),
        [
            (
                "Hi {first_name}!",
                "'{first_name}' at character 4 has single braces: write {{first_name}}",
            ),
            ("{ day }", "'{ day }' at character 1 has single braces: write {{day}}"),
            ("{user.name}", "'{user.name}' at character 1 has single braces: write {{user.name}}"),
            ("{_id}", "'{_id}' at character 1 has single braces: write {{_id}}"),
            ("{prénom}", "'{prénom}' at character 1 has single braces: write {{prénom}}"),
            ("code {A1-B2}", "'{A1-B2}' at character 6 has single braces: write {{A1-B2}}"),
            ("{name}}", "'{name}}' at character 1 has one opening brace: write {{name}}"),
        ],
    )
    def test_a_word_in_single_braces_is_an_error(self, template: str, message: str) -> None:
        """Even ``{A1-B2}``: a field name written wrong reaches every customer, and literal
        braces can still be sent from a merged value."""
        with pytest.raises(TemplateSyntaxError) as caught:
            check_template(template)
        assert str(caught.value) == message

    @pytest.mark.parametrize(
        ("template", "message"),
        [
            ("Thanks }} bye", "stray '}}' at character 8"),
            ("Hi {{name}}, }}", "stray '}}' at character 14"),
            ("{a b}}", "stray '}}' at character 5"),
            ("x }}} y", "stray '}}}' at character 3"),
        ],
    )
    def test_stray_closing_braces_are_an_error(self, template: str, message: str) -> None:
        with pytest.raises(TemplateSyntaxError) as caught:
            check_template(template)
        assert str(caught.value) == message

    @pytest.mark.parametrize(
        ("template", "shown"),
        [("{{{name}}}", "{{{name}}}"), ("Hi {{name}}}", "{{name}}}"), ("{{{ x", "{{{")],
    )
    def test_three_braces_in_a_row_are_an_error(self, template: str, shown: str) -> None:
        """Mustache's unescaped ``{{{name}}}``, or one brace too many, is not a token."""
        with pytest.raises(TemplateSyntaxError, match="too many braces") as caught:
            check_template(template)
        assert f"'{shown}'" in str(caught.value)
        assert str(caught.value).endswith("a merge field is written {{name}}")

    @pytest.mark.parametrize("template", ["{{name|{x}}}", "{{name|:-{}}", "{{name|a}b}}"])
    def test_a_default_cannot_contain_braces(self, template: str) -> None:
        """The first ``}}`` closes a token, so a brace in a default would be ambiguous."""
        with pytest.raises(TemplateSyntaxError):
            check_template(template)

    def test_a_long_mistake_is_shown_shortened(self) -> None:
        with pytest.raises(TemplateSyntaxError) as caught:
            check_template("{{" + "x" * 100)
        assert str(caught.value) == (f"unclosed merge field '{{{{{'x' * 25}...' at character 1")

    def test_the_first_mistake_is_the_one_reported(self) -> None:
        with pytest.raises(TemplateSyntaxError, match="character 1:"):
            check_template("{{a} {b} }}")

    def test_render_raises_the_mistake_before_missing_fields(self) -> None:
        with pytest.raises(TemplateSyntaxError, match="empty merge field"):
            render("{{missing}} {{}}", NOTHING.get)


class TestUnmatchedFields:
    COLUMNS = ("phone_number", "First Name", "city")

    def test_a_field_that_names_no_column_says_what_every_row_gets(self) -> None:
        said = unmatched_fields("Hi {{first name|friend}}, {{frist}} {{zip}}", self.COLUMNS)
        assert said == [
            (
                "{{first name}} names no column of the input: every row gets its default "
                "'friend' (did you mean {{First Name}}? names are matched exactly)"
            ),
            "{{frist}} names no column of the input: every row is invalid: no value",
            "{{zip}} names no column of the input: every row is invalid: no value",
        ]

    def test_fields_that_name_columns_or_repeat_say_nothing_more(self) -> None:
        assert unmatched_fields("{{city}} {{First Name}} {{city|x}}", self.COLUMNS) == []
        assert len(unmatched_fields("{{cty}} {{cty|x}}", self.COLUMNS)) == 1

    def test_a_template_that_cannot_be_parsed_is_left_to_each_row(self) -> None:
        assert unmatched_fields("Hi {{name", self.COLUMNS) == []
