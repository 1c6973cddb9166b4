"""The answer cache's key changes with everything that shapes an answer: each setting of
the retrieval and generator tables (every field, so a new one is covered the day it is
added), the collection, the index, the model and the code."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, Literal

import pytest

from engine.answer_key import _ANSWER_CODE, CODE_FINGERPRINT, answer_key, source_fingerprint
from engine.settings import CollectionSettings, GeneratorSettings, RetrievalSettings

BASE: dict[str, Any] = {
    "question": "How do I roll back a deploy?",
    "query": "How do I roll back a deploy?",
    "collection": CollectionSettings("handbook", ("examples/handbook",), "https://x/{path}"),
    "index": "/srv/teamkb/index",
    "index_version": 3,
    "model": "gemma3:270m",
    "adapter": "",
    "retrieval": RetrievalSettings(),
    "generator": GeneratorSettings(),
}


def _other(value: Any, annotation: Any) -> Any:
    """A valid value of `annotation` that differs from `value`."""
    if typing.get_origin(annotation) is Literal:
        return next(v for v in typing.get_args(annotation) if v != value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "-changed"
    raise TypeError(f"no other value for {value!r} ({annotation})")


def _changes(table: str) -> list[tuple[str, dict[str, Any]]]:
    settings = BASE[table]
    hints = typing.get_type_hints(type(settings))
    return [
        (f"{table}.{f.name}", {table: dataclasses.replace(settings, **{
            f.name: _other(getattr(settings, f.name), hints[f.name])})})
        for f in dataclasses.fields(settings)
    ]  # fmt: skip


def test_the_same_inputs_give_the_same_key_whatever_the_case_and_spacing():
    assert answer_key(**BASE) == answer_key(**{**BASE, "question": "how do I roll back a  deploy?"})


CHANGES = [
    *_changes("retrieval"),
    *_changes("generator"),
    ("question", {"question": "How do I deploy?"}),
    ("query", {"query": "deploy ledger-api; how do I roll back a deploy?"}),
    ("collection", {"collection": CollectionSettings("runbooks")}),
    ("collection url", {"collection": dataclasses.replace(BASE["collection"], url="")}),
    ("index", {"index": "s3://team-kb/index"}),
    ("index_version", {"index_version": 4}),
    ("model", {"model": "gemma3:1b"}),
    ("adapter", {"adapter": "ad-2"}),
]


@pytest.mark.parametrize("change", [c for _, c in CHANGES], ids=[name for name, _ in CHANGES])
def test_each_answer_shaping_input_changes_the_key(change):
    assert answer_key(**{**BASE, **change}) != answer_key(**BASE)


def test_the_code_fingerprint_follows_the_source(tmp_path: Path):
    package = tmp_path / "engine"
    package.mkdir()
    (package / "prompting.py").write_text('SYSTEM = "Answer from the excerpts."\n')
    before = source_fingerprint(package)
    assert source_fingerprint(package) == before
    (package / "prompting.py").write_text('SYSTEM = "Answer from the excerpts only."\n')
    assert source_fingerprint(package) != before
    (package / "prompting.py").unlink()
    with pytest.raises(RuntimeError, match="no Python source"):
        source_fingerprint(package)


def test_the_installed_answer_code_is_fingerprinted():
    # engine and knowledge both count: a change to the text rules changes answers too.
    assert source_fingerprint(*_ANSWER_CODE) == CODE_FINGERPRINT
    assert {root.name for root in _ANSWER_CODE} == {"engine", "knowledge"}
