"""Feedback stored by the Slack bot becomes training data and evaluation questions."""

from engine import Answer
from engine.evaluation.questions import feedback_records, questions_from_feedback
from finetune.config import FinetuneConfig
from finetune.dataset import build_dataset
from state import SQLiteFeedbackStore, feedback_path


def test_helpful_answers_and_corrections_feed_the_dataset(tmp_path, search_engine):
    store = SQLiteFeedbackStore(feedback_path(tmp_path), Answer.from_json)
    asked = {
        "helpful": "How do I roll back a deploy?",
        "not_helpful": "When is the on-call handoff?",
        "correction": "Who owns ledger-api?",
    }
    for verdict, question in asked.items():
        answer = search_engine.ask(question)
        answer_id = store.add_answer(answer, user="U1", channel="C1")
        store.add_feedback(
            answer_id, user="U2", channel="C1", verdict=verdict,  # type: ignore[arg-type]
            correction="The payments team owns ledger-api [1]." if verdict == "correction" else "",
        )  # fmt: skip
    records = feedback_records(tmp_path)
    assert {r["verdict"] for r in records} == set(asked)

    cfg = FinetuneConfig(holdout_fraction=0.0, max_examples=0)
    ds = build_dataset(
        tmp_path / "datasets", [], cfg, count_tokens=lambda s: len(s) // 4,
        budget_tokens=1500, search=search_engine.search, home=tmp_path,
    )  # fmt: skip
    fb = [e for e in ds.train if e.kind == "feedback"]
    assert sorted(e.question for e in fb) == sorted([asked["helpful"], asked["correction"]])
    correction = next(e for e in fb if e.question == asked["correction"])
    assert correction.completion.strip() == "The payments team owns ledger-api [1]."

    questions = questions_from_feedback(records)
    assert {q.question for q in questions} == {asked["helpful"], asked["correction"]}


def test_only_questions_the_docs_lack_are_scored_as_unanswerable():
    from finetune.dataset import Example

    def ex(kind: str) -> Example:
        return Example(f"{kind}-1", kind, "q?", "prompt", " a\n", ("a.md",), ("k",))

    assert ex("cited").as_question().kind == "answerable"  # type: ignore[union-attr]
    assert ex("abstain").as_question().kind == "unanswerable"  # type: ignore[union-attr]
    # An answerable question shown wrong passages: through retrieval it finds the right
    # one, so it cannot be scored as "should abstain".
    assert ex("distractor").as_question() is None


def test_cited_examples_point_at_their_whole_gold_passage():
    """With a budget too small for every passage, an example whose gold passage was
    trimmed or dropped is skipped; the rest cite the gold passage's number."""
    import re

    from engine.prompting import build_prompt, quote
    from engine.types import Passage
    from finetune.dataset import build_examples

    filler = " ".join(["The service keeps working as documented here."] * 8)
    chunks = [
        Passage(
            id=f"id{i:02d}" * 4,
            collection="",
            source=f"doc{i}.md",
            title=f"Doc {i}",
            heading=f"Topic {i}",
            lines=(0, 0),
            text=f"Run `cmd-{i}`. {filler}",
        )
        for i in range(12)
    ]

    def count(s: str) -> int:
        return len(s) // 4

    fixed = count(build_prompt("q?", [], count_tokens=count, budget_tokens=10_000)[0].completion)
    cfg = FinetuneConfig(passages_per_example=3, seed=3)
    examples = build_examples(chunks, cfg, count_tokens=count, budget_tokens=fixed + 250)
    cited = [e for e in examples if e.kind == "cited"]
    assert 0 < len(cited) < len(chunks)  # some golds did not fit whole: skipped
    for e in cited:
        (n,) = [int(m) for m in re.findall(r"\[(\d+)\]", e.completion)]
        task = e.prompt.partition("Now the real task.")[2]
        blocks = re.split(r"\n(?=\[\d+\] )", task.partition("Excerpts:\n")[2])
        gold = next(c for c in chunks if c.source == e.gold[0])
        assert blocks[n - 1].startswith(f"[{n}] {gold.source} › ")
        assert quote(gold.text) in blocks[n - 1]  # whole, not trimmed
