"""The engine with its real parts: LanceDB, MiniLM, llama.cpp (embedded) and the ollama
client (against the stand-in server)."""

import dataclasses
import subprocess
import sys

import pytest

from engine import build_engine
from engine.errors import InvalidQuestion
from engine.settings import GeneratorSettings
from tests.conftest import ROOT, make_settings


def test_embedded_model_answers_with_valid_citations(llm_engine):
    answer = llm_engine.ask("When is the on-call handoff?")
    assert not answer.abstained and not answer.degraded
    assert answer.model == "gemma3-270m-q4_k_m.gguf"
    assert answer.citations, answer.text
    assert "Monday" in answer.text
    assert {c.source for c in answer.citations} <= {
        "oncall/rotation.md",
        "oncall/handoff-checklist.md",
    }
    # Every marker in the text points at a listed citation, numbered from 1.
    import re

    nums = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert nums == {c.n for c in answer.citations} and min(nums) == 1
    assert {"retrieval", "prompt", "generation", "total"} <= set(answer.timings)


def test_unanswerable_question_abstains_without_calling_the_model(handbook_home, embedder):
    class Exploding:
        model, adapter, context_tokens, max_tokens = "m", "", 2048, 100

        def count_tokens(self, text):
            return 1

        def generate(self, prompt):
            raise AssertionError("the model must not be called")

        stream = generate

    settings = make_settings(handbook_home, answer_cache=False)
    engine = build_engine(settings, embedder=embedder, generator=Exploding())
    answer = engine.ask("What is the office wifi password?")
    assert answer.abstained and "don't cover" in answer.text
    assert answer.citations  # the closest passages, for the user to check


def test_broken_model_path_degrades_to_cited_sources(handbook_home, embedder, tmp_path):
    gen = GeneratorSettings(backend="llamacpp", model_path=str(tmp_path / "missing.gguf"))
    engine = build_engine(
        make_settings(handbook_home, generator=gen, answer_cache=False), embedder=embedder
    )
    answer = engine.ask("How do I roll back a deploy?")
    assert answer.degraded and "unavailable" in answer.notice
    assert "missing.gguf" in answer.notice
    assert answer.citations[0].source == "deploys/rollback.md"


def test_stream_yields_tokens_then_the_checked_answer(llm_engine):
    events = list(llm_engine.ask_stream("How often do we rotate the database password?"))
    tokens = [e.token for e in events if e.token]
    assert len(tokens) > 3 and events[-1].answer is not None
    assert events[-1].answer.timings["first_token"] < events[-1].answer.timings["generation"] + 1e-6


def test_questions_are_validated(search_engine):
    with pytest.raises(InvalidQuestion, match="empty"):
        search_engine.ask("  ")
    with pytest.raises(InvalidQuestion, match="too long"):
        search_engine.ask("why " * 1000)


def test_cache_serves_repeats_and_a_reindex_invalidates_it(home_copy, embedder, fake_ollama):
    gen = GeneratorSettings(backend="ollama", ollama_host=fake_ollama.url, use_adapter=False)
    engine = build_engine(make_settings(home_copy, generator=gen), embedder=embedder)
    first = engine.ask("How do I roll back a deploy?")
    assert not first.cached and len(fake_ollama.requests) == 1
    # Speed is bench/ask_latency.py's job; here: served from the cache, model untouched.
    again = engine.ask("how do I roll back a  deploy?")
    assert again.cached
    assert again.text == first.text and again.citations == first.citations
    assert len(fake_ollama.requests) == 1
    # A re-index that changes anything publishes a new version: the entry is unreachable.
    from knowledge.documents import Chunk

    writer = engine.store.collection("handbook").writer()
    new = Chunk(
        id="new", collection="handbook", source="new.md", title="New", heading="",
        line_start=1, line_end=1, text="new page", search_text="new page", text_hash="x",
        file_hash="y", updated_at="",
    )  # fmt: skip
    writer.upsert([new], [embedder.embed_query("new page")])
    writer.publish()
    assert not engine.ask("How do I roll back a deploy?").cached
    assert len(fake_ollama.requests) == 2


def test_follow_up_in_history_retrieves_rollback_docs(ollama_engine, fake_ollama):
    from engine import Turn

    history = [Turn("user", "How do I deploy ledger-api to prod?"), Turn("assistant", "…")]
    ollama_engine.ask("and how do I roll it back?", history=history)
    sent = fake_ollama.requests[-1]["messages"][-1]["content"]
    assert "deploys/rollback.md" in sent
    # The question itself goes to the model as asked; only retrieval borrows context.
    assert sent.rstrip().endswith("Question: and how do I roll it back?")


def test_engine_does_not_import_front_ends_or_unsloth():
    code = (
        "import sys, engine, engine.factory, engine.engine, knowledge.sync;"
        "bad = [m for m in ('slack_bolt', 'pygls', 'unsloth', 'bot', 'lsp', 'finetune')"
        " if m in sys.modules]; print(bad); raise SystemExit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_engine_never_reads_the_environment():
    for path in [*ROOT.joinpath("engine").rglob("*.py"), *ROOT.joinpath("knowledge").rglob("*.py")]:
        text = path.read_text()
        assert "os.environ" not in text and "getenv" not in text, path


def test_settings_are_frozen(search_engine):
    with pytest.raises(dataclasses.FrozenInstanceError):
        search_engine.settings.retrieval.k = 3  # type: ignore[misc]


def test_an_answer_no_passage_backs_is_replaced_by_the_evidence(handbook_home, embedder):
    # Issue 11: an answer can no longer be shown as an answer while flagged unsupported.
    from tests.fakes.ollama_server import FakeOllama

    with FakeOllama(lambda request: "I've already done that.") as server:
        gen = GeneratorSettings(backend="ollama", ollama_host=server.url, use_adapter=False)
        engine = build_engine(
            make_settings(handbook_home, generator=gen, answer_cache=False), embedder=embedder
        )
        answer = engine.ask("How do I roll back a deploy?")
    assert not answer.unsupported and not answer.abstained
    assert "already done" not in answer.text and answer.text.startswith("The docs say:")
    assert "not backed" in answer.notice
    assert answer.citations[0].source == "deploys/rollback.md" and answer.citations[0].quote


def test_an_answer_does_not_depend_on_the_question_asked_before(
    handbook_home, embedder, packaged_gguf
):
    """llama.cpp moved its sampling seed on every call and reused the cache of the prompt
    before; with either, the same question got another answer after another question."""
    settings = make_settings(
        handbook_home,
        answer_cache=False,
        generator=GeneratorSettings(backend="llamacpp", model_path=str(packaged_gguf)),
    )
    asked = build_engine(settings, embedder=embedder)
    history = [
        "merchant webhooks are way behind, how do I see how far behind the consumers are?",
        "how many times does the gateway retry a call to the acquirer by default? which "
        "setting controls it?",
        "I need to run a one-off data fix directly on ledger-db, how do I get write access?",
        "when does the release branch get cut for the weekly train?",
    ]
    in_turn = [asked.ask(q).text for q in history]
    for question, answer in zip(history[1::2], in_turn[1::2], strict=True):
        alone = build_engine(settings, embedder=embedder).ask(question).text
        assert alone == answer


def test_sampling_starts_from_the_same_seed_on_every_call(packaged_gguf):
    from engine.generators.llamacpp import LlamaCppGenerator
    from engine.prompting import build_prompt

    # A hot temperature makes any drift of the seed between calls show in the text.
    generator = LlamaCppGenerator(packaged_gguf, temperature=1.0, max_tokens=32)
    prompt, _ = build_prompt(
        "when is team lunch?", [], count_tokens=generator.count_tokens, budget_tokens=1500
    )
    first = "".join(generator.stream(prompt))
    assert first and "".join(generator.stream(prompt)) == first


def test_a_collection_links_citations_by_its_template_or_not_at_all():
    from engine import CollectionSettings

    docs = CollectionSettings("docs", url="https://git.example.com/docs/{path}#L{start}-L{end}")
    assert docs.citation_url("runbooks/a.md", 7, 12) == (
        "https://git.example.com/docs/runbooks/a.md#L7-L12"
    )
    # No template, or one with a placeholder teamkb does not fill: the file path is shown.
    assert CollectionSettings("docs").citation_url("a.md", 1, 2) is None
    assert CollectionSettings("docs", url="{repo}/{path}").citation_url("a.md", 1, 2) is None
