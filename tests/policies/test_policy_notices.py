"""Notice templates: what each may name, and filling one in (policies/notices.py)."""

from policies.notices import DEFAULT_TEMPLATES, PLACEHOLDERS, fill, unknown_placeholders


def test_filling_in_replaces_each_known_placeholder_once_and_reads_nothing_else() -> None:
    template = "{title} by {author}: {title} {missing} {0.__class__} {{severity}} {author"
    values = {"title": "Fix {author}'s {0}", "author": "dev", "severity": "P0"}

    assert fill(template, values) == (
        "Fix {author}'s {0} by dev: Fix {author}'s {0} {missing} {0.__class__} {P0} {author"
    )


def test_unknown_placeholders_are_named_once_each_in_order() -> None:
    assert unknown_placeholders(
        "{pager} {title} {Started} {pager} {0} {x y}", PLACEHOLDERS["p0_alert"]
    ) == [
        "pager",
        "Started",
    ]
    assert unknown_placeholders("{timeline}\n{tag}", PLACEHOLDERS["resolution"]) == []


def test_the_built_in_templates_use_only_their_own_placeholders() -> None:
    assert set(DEFAULT_TEMPLATES) <= set(PLACEHOLDERS)
    assert {
        name: unknown_placeholders(text, PLACEHOLDERS[name])
        for name, text in DEFAULT_TEMPLATES.items()
    } == {name: [] for name in DEFAULT_TEMPLATES}
