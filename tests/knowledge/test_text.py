from knowledge.text import (
    CORE_STOP_WORDS,
    FILLER,
    STOP_WORDS,
    cited_numbers,
    format_markers,
    rewrite_markers,
    sentence_starts,
    split_sentences,
    stems,
    strip_markers,
    words,
)


def test_each_reader_drops_its_own_stop_words():
    # the full-text query keeps what a page may be about
    assert {"docs", "use"} <= CORE_STOP_WORDS and not {"docs", "use"} & FILLER
    assert CORE_STOP_WORDS < STOP_WORDS
    # the query drops chat words that content words keep: a question of them is not wordless
    assert {"needed", "thanks"} <= FILLER and not {"needed", "thanks"} & STOP_WORDS
    assert stems("who needed the documentation?") == {"neede"}
    assert stems("thanks, how do I rotate it?") == {"thank", "rotat"}


def test_words_and_stems():
    assert words("set pull.rebase to true (api/v1.24)") == [
        "set", "pull.rebase", "to", "true", "api/v1.24",
    ]  # fmt: skip
    assert stems("How do I rotate the rotated passwords?") == {"rotat", "passw"}


def test_an_answer_splits_where_a_sentence_opens_and_doc_text_at_any_stop():
    text = "Use v2. then restart. `make` builds [1]. (See below.) Done."
    assert split_sentences(text) == ["Use v2. then restart.", "`make` builds [1].",
                                     "(See below.) Done."]  # fmt: skip
    assert split_sentences("One. - two. three", loose=True) == ["One.", "- two.", "three"]


def test_doc_prose_skips_abbreviations_and_item_numbers():
    text = "Use a tool, e.g. Vault. It rotates. 1. Next"
    assert [text[s:] for s in sentence_starts(text)] == [text, "It rotates. 1. Next", "1. Next"]


def test_one_marker_rule_finds_strips_and_rewrites():
    text = "Rotate it [2]. Page them [ 1; 3 ], not in [2024]."
    assert cited_numbers(text) == [2, 1, 3]
    assert strip_markers(text) == "Rotate it. Page them, not in [2024]."
    assert rewrite_markers(text, lambda ns: format_markers([n + 1 for n in ns])) == (
        "Rotate it [3]. Page them [2][4], not in [2024]."
    )
