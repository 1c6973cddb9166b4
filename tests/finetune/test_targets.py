"""Training targets are exactly what the engine must produce: the supporting sentence,
verbatim and cited, which the engine's own checks keep."""

from __future__ import annotations

from engine.rendering import model_view
from engine.types import Passage
from engine.verify import verify
from finetune.dataset import cited_answer
from tests.engine.test_evidence import _evidence

TEXT = (
    "Primary gets paged first. If the primary does not acknowledge within\n"
    "**10 minutes**, the page goes to the Secondary. Handoff is on Mondays.\n"
)


def test_cited_target_is_the_keyword_sentence_verbatim_and_passes_the_checks():
    p = Passage("id", "c", "oncall/paging.md", "Paging", "Escalation", (3, 4), TEXT)
    target = cited_answer(p, 2, ["10 minutes", "Secondary"])
    assert target == (
        "If the primary does not acknowledge within **10 minutes**, the page goes to the "
        "Secondary [2]."
    )
    sentence = target.replace(" [2].", "")
    assert " ".join(TEXT.split()).find(sentence) >= 0  # exact doc text, whitespace folded
    ps = ["Unrelated text about lunch.", TEXT]
    [v] = verify(target, ps, _evidence(ps, "how long until the page escalates?"))
    assert v.ok, v.reason


def test_an_asciidoc_target_reads_as_the_prompt_shows_it():
    text = (
        "--force-with-lease::\n\tIt refuses to overwrite others' work (see linkgit:git-fetch[1]).\n"
    )
    p = Passage("id", "c", "git-push.txt", "git-push(1)", "", (10, 11), text)
    target = cited_answer(p, 1, ["--force-with-lease"])
    assert target == (
        "--force-with-lease:: It refuses to overwrite others' work (see git-fetch(1)) [1]."
    )
    [v] = verify(target, [model_view(text, p.source)], _evidence([text], "which flag is safer?"))
    assert v.ok, v.reason
