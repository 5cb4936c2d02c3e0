"""Plain text to ADF and back, compared byte for byte, and checked against the ADF schema."""

import json

import pytest
from jsonschema import Draft4Validator

from integrations.jira.adf import (
    adf_doc,
    adf_to_text,
    bullet_list,
    code_block,
    hard_break,
    heading,
    inline_code,
    link,
    paragraph,
    strong,
    text,
    text_to_adf,
)


def ref(name):
    return {"$ref": f"#/definitions/{name}"}


def marks_of(*names):
    return {
        "type": "object",
        "properties": {"marks": {"type": "array", "items": {"anyOf": [ref(n) for n in names]}}},
    }


def no_marks(name):
    return {"allOf": [ref(name), {"properties": {"marks": {"type": "array", "maxItems": 0}}}]}


def simple_mark(kind):
    return {
        "type": "object",
        "properties": {"type": {"enum": [kind]}},
        "required": ["type"],
        "additionalProperties": False,
    }


def node(kind, content=None, required=("type",), attrs=None):
    properties = {"type": {"enum": [kind]}, "marks": {"type": "array"}}
    if content is not None:
        properties["content"] = content
    if attrs is not None:
        properties["attrs"] = attrs
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


# The definitions of the nodes and marks we emit, copied from the official ADF JSON schema
# (http://go.atlassian.com/adf-json-schema; pioug/atlassian-frontend-mirror,
# editor/adf-schema/json-schema/v1/full.json @ 070b3e07). doc content is cut to our blocks.
ADF_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "$ref": "#/definitions/doc_node",
    "definitions": {
        "text_node": {
            "type": "object",
            "properties": {
                "type": {"enum": ["text"]},
                "text": {"type": "string", "minLength": 1},
                "marks": {"type": "array"},
            },
            "required": ["type", "text"],
            "additionalProperties": False,
        },
        "code_mark": simple_mark("code"),
        "strong_mark": simple_mark("strong"),
        "em_mark": simple_mark("em"),
        "link_mark": {
            "type": "object",
            "properties": {
                "type": {"enum": ["link"]},
                "attrs": {
                    "type": "object",
                    "properties": {"href": {"type": "string"}},
                    "required": ["href"],
                    "additionalProperties": False,
                },
            },
            "required": ["type", "attrs"],
            "additionalProperties": False,
        },
        "hardBreak_node": node("hardBreak"),
        "formatted_text_inline_node": {
            "allOf": [ref("text_node"), marks_of("em_mark", "strong_mark", "link_mark")]
        },
        "code_inline_node": {"allOf": [ref("text_node"), marks_of("code_mark", "link_mark")]},
        "inline_node": {
            "anyOf": [
                ref("hardBreak_node"),
                ref("formatted_text_inline_node"),
                ref("code_inline_node"),
            ]
        },
        "paragraph_node": node("paragraph", {"type": "array", "items": ref("inline_node")}),
        "heading_node": node(
            "heading",
            {"type": "array", "items": ref("inline_node")},
            ("type", "attrs"),
            {
                "type": "object",
                "properties": {"level": {"type": "number", "minimum": 1, "maximum": 6}},
                "required": ["level"],
                "additionalProperties": False,
            },
        ),
        "codeBlock_node": node(
            "codeBlock",
            {"type": "array", "items": no_marks("text_node")},
            ("type",),
            {
                "type": "object",
                "properties": {"language": {"type": "string"}},
                "additionalProperties": False,
            },
        ),
        "listItem_node": node(
            "listItem",
            {"type": "array", "items": no_marks("paragraph_node"), "minItems": 1},
            ("type", "content"),
        ),
        "bulletList_node": node(
            "bulletList",
            {"type": "array", "items": ref("listItem_node"), "minItems": 1},
            ("type", "content"),
        ),
        "doc_node": {
            "type": "object",
            "properties": {
                "version": {"enum": [1]},
                "type": {"enum": ["doc"]},
                "content": {
                    "type": "array",
                    "items": {
                        "anyOf": [
                            no_marks(n)
                            for n in ("codeBlock_node", "paragraph_node", "heading_node")
                        ]
                        + [ref("bulletList_node")]
                    },
                },
            },
            "required": ["version", "type", "content"],
            "additionalProperties": False,
        },
    },
}
ADF = Draft4Validator(ADF_SCHEMA)


def dumps(value):
    return json.dumps(value, sort_keys=False)


def assert_valid(document):
    assert [error.message for error in ADF.iter_errors(document)] == []


def test_it_turns_one_line_into_one_paragraph():
    assert dumps(text_to_adf("Anomaly acknowledged")) == (
        '{"version": 1, "type": "doc", "content": [{"type": "paragraph", "content": '
        '[{"type": "text", "text": "Anomaly acknowledged"}]}]}'
    )


def test_it_splits_paragraphs_on_blank_lines_and_breaks_single_newlines():
    document = text_to_adf("Row count: 12\r\nNulls: 3\n\n\n  \nChecked by Qualytics")

    assert dumps(document["content"]) == (
        '[{"type": "paragraph", "content": [{"type": "text", "text": "Row count: 12"}, '
        '{"type": "hardBreak"}, {"type": "text", "text": "Nulls: 3"}]}, '
        '{"type": "paragraph", "content": [{"type": "text", "text": "Checked by Qualytics"}]}]'
    )


def test_it_links_web_urls_but_not_the_punctuation_after_them():
    document = text_to_adf(
        "See https://app.example.com/anomalies/42, or (http://wiki.example.com/A_(b))."
    )

    assert dumps(document["content"][0]["content"]) == (
        '[{"type": "text", "text": "See "}, {"type": "text", "text": '
        '"https://app.example.com/anomalies/42", "marks": [{"type": "link", "attrs": '
        '{"href": "https://app.example.com/anomalies/42"}}]}, {"type": "text", "text": ", or ("}, '
        '{"type": "text", "text": "http://wiki.example.com/A_(b)", "marks": [{"type": "link", '
        '"attrs": {"href": "http://wiki.example.com/A_(b)"}}]}, {"type": "text", "text": ")."}]'
    )


def test_it_marks_inline_code_and_leaves_urls_inside_it_alone():
    document = text_to_adf("Run `SELECT * FROM t WHERE url = 'https://x.io'` again")

    assert dumps(document["content"][0]["content"]) == (
        '[{"type": "text", "text": "Run "}, {"type": "text", "text": '
        '"SELECT * FROM t WHERE url = \'https://x.io\'", "marks": [{"type": "code"}]}, '
        '{"type": "text", "text": " again"}]'
    )


def test_it_turns_fenced_blocks_into_code_blocks_without_marks():
    document = text_to_adf("Query:\n```sql\nSELECT 1\n\n-- see https://x.io `x`\n```\nDone")

    assert dumps(document["content"]) == (
        '[{"type": "paragraph", "content": [{"type": "text", "text": "Query:"}]}, '
        '{"type": "codeBlock", "attrs": {"language": "sql"}, "content": [{"type": "text", '
        '"text": "SELECT 1\\n\\n-- see https://x.io `x`"}]}, '
        '{"type": "paragraph", "content": [{"type": "text", "text": "Done"}]}]'
    )


def test_it_ignores_a_fence_language_that_is_not_a_plain_word():
    document = text_to_adf('```"><script>\nx\n```')

    assert (
        dumps(document["content"])
        == '[{"type": "codeBlock", "content": [{"type": "text", "text": "x"}]}]'
    )


def test_it_runs_an_unclosed_fence_to_the_end_and_keeps_an_empty_block_empty():
    assert dumps(text_to_adf("```\nstill code")["content"]) == (
        '[{"type": "codeBlock", "content": [{"type": "text", "text": "still code"}]}]'
    )
    assert dumps(text_to_adf("```\n```")["content"]) == '[{"type": "codeBlock"}]'


@pytest.mark.parametrize("blank", ["", "   ", "\n\n\t\n", "\x00\x07"])
def test_it_turns_blank_text_into_an_empty_document(blank):
    assert dumps(text_to_adf(blank)) == '{"version": 1, "type": "doc", "content": []}'


def test_it_keeps_malicious_looking_input_as_plain_text():
    attack = (
        'javascript:alert(1) [x](javascript:alert(1)) <a href="javascript:x">y</a> '
        'data:text/html;base64,PHNjcmlwdD4= {"type":"mention","attrs":{"id":"all"}} '
        "``` https:// `` h\x00ttps://evil.io"
    )

    assert dumps(text_to_adf(attack)["content"]) == (
        '[{"type": "paragraph", "content": [{"type": "text", "text": "javascript:alert(1) '
        '[x](javascript:alert(1)) <a href=\\"javascript:x\\">y</a> data:text/html;base64,'
        'PHNjcmlwdD4= {\\"type\\":\\"mention\\",\\"attrs\\":{\\"id\\":\\"all\\"}} '
        '``` https:// `` "}, '
        '{"type": "text", "text": "https://evil.io", "marks": [{"type": "link", "attrs": '
        '{"href": "https://evil.io"}}]}]}]'
    )


@pytest.mark.parametrize(
    "value",
    [
        "a",
        "`",
        "``",
        "` `",
        "x\n\ny\nz",
        "https://a.b/c?d=1&e=`f`",
        "```\n\n```",
        "```py\nprint(1)",
        "mixed `code` and https://x.io and\n```\nblock\n```\ntail",
        "\r\r\n\u2028unicode ✓ https://пример.рф/путь",
    ],
)
def test_it_always_produces_documents_the_adf_schema_accepts(value):
    assert_valid(text_to_adf(value))


def test_it_builds_an_issue_description_from_small_pieces():
    document = adf_doc(
        heading(3, text("Anomaly 42")),
        paragraph(strong("Datastore:"), text(" warehouse"), hard_break(), inline_code("orders")),
        bullet_list(
            [text("Check: not_null")], [link("Open in Qualytics", "https://app.example.com/a/42")]
        ),
        code_block("SELECT 1", "sql"),
        paragraph(),
    )

    assert_valid(document)
    assert dumps(document) == (
        '{"version": 1, "type": "doc", "content": [{"type": "heading", "attrs": {"level": 3}, '
        '"content": [{"type": "text", "text": "Anomaly 42"}]}, {"type": "paragraph", "content": '
        '[{"type": "text", "text": "Datastore:", "marks": [{"type": "strong"}]}, {"type": "text", '
        '"text": " warehouse"}, {"type": "hardBreak"}, {"type": "text", "text": "orders", '
        '"marks": [{"type": "code"}]}]}, {"type": "bulletList", "content": [{"type": "listItem", '
        '"content": [{"type": "paragraph", "content": [{"type": "text", "text": '
        '"Check: not_null"}]}]}, '
        '{"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", '
        '"text": "Open in Qualytics", "marks": [{"type": "link", "attrs": {"href": '
        '"https://app.example.com/a/42"}}]}]}]}]}, {"type": "codeBlock", "attrs": {"language": '
        '"sql"}, "content": [{"type": "text", "text": "SELECT 1"}]}, {"type": "paragraph"}]}'
    )


def test_it_refuses_empty_text_and_links_that_are_not_web_urls():
    with pytest.raises(ValueError):
        text("")
    for href in ("javascript:alert(1)", "data:text/html,x", "//evil.io", "https://"):
        with pytest.raises(ValueError):
            link("click", href)
    with pytest.raises(ValueError):
        heading(7, text("x"))


@pytest.mark.parametrize(
    "value",
    [
        "One line",
        "Two\nlines\n\nand a paragraph",
        "Code `x = 1` and https://x.io/a",
        "```sql\nSELECT 1\n\nFROM t\n```\n\nafter",
    ],
)
def test_it_reads_its_own_documents_back_as_the_same_text(value):
    assert adf_to_text(text_to_adf(value)) == value


def test_it_reads_jira_comments_with_mentions_lists_and_named_links():
    body = {
        "version": 1,
        "type": "doc",
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "mention", "attrs": {"id": "5b10", "text": "@Mia Krystof"}},
                    {"type": "text", "text": " fixed in "},
                    {
                        "type": "text",
                        "text": "PR 7",
                        "marks": [{"type": "link", "attrs": {"href": "https://git.example.com/7"}}],
                    },
                    {"type": "emoji", "attrs": {"shortName": ":tada:", "text": "🎉"}},
                ],
            },
            {
                "type": "bulletList",
                "content": [
                    {
                        "type": "listItem",
                        "content": [
                            {"type": "paragraph", "content": [{"type": "text", "text": "one"}]}
                        ],
                    },
                    {
                        "type": "listItem",
                        "content": [
                            {"type": "paragraph", "content": [{"type": "text", "text": "two"}]}
                        ],
                    },
                ],
            },
            {"type": "rule"},
            {
                "type": "mystery",
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "kept"}]}],
            },
        ],
    }

    assert adf_to_text(body) == (
        "@Mia Krystof fixed in PR 7 (https://git.example.com/7)🎉\n\n- one\n- two\n\n---\n\nkept"
    )


def test_it_reads_plain_string_and_broken_bodies_without_failing():
    assert adf_to_text("a v2 body") == "a v2 body"
    assert adf_to_text(None) == ""
    assert adf_to_text({"type": "doc", "content": ["junk", {"type": "paragraph"}]}) == ""
