"""The Ollama backend's wire contract, against a stand-in replaying Ollama's API, and
against a live Ollama when OLLAMA_HOST answers."""

import os
import urllib.request

import pytest

from engine import build_engine
from engine.errors import GeneratorUnavailable
from engine.generators.ollama import OllamaGenerator
from engine.settings import GeneratorSettings
from engine.types import Prompt
from tests.conftest import make_settings
from tests.fakes.ollama_server import FakeOllama

PROMPT = Prompt(
    system="sys", user="Excerpts:\n[1] a.md › A\n> Fact one.\n\nQuestion: q", completion=""
)


def test_chat_request_streams_and_carries_settings():
    with FakeOllama() as server:
        gen = OllamaGenerator(
            host=server.url, model="gemma3:270m", keep_alive="5m", max_tokens=64,
            temperature=0.2, n_ctx=4096,
        )  # fmt: skip
        pieces = list(gen.stream(PROMPT))
    assert len(pieces) > 1 and "".join(pieces) == "Fact one [1]."
    req = server.requests[0]
    assert req["_path"] == "/api/chat" and req["stream"] is True
    assert req["model"] == "gemma3:270m" and req["keep_alive"] == "5m"
    assert req["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": PROMPT.user},
    ]
    assert req["options"] == {
        "temperature": 0.2, "num_predict": 64, "num_ctx": 4096, "seed": 7
    }  # fmt: skip


def test_adapter_model_tag_is_used_and_reported():
    with FakeOllama(models=("teamkb-adapter:20261121",)) as server:
        gen = OllamaGenerator(host=server.url, model="gemma3:270m",
                              adapter_model="teamkb-adapter:20261121")  # fmt: skip
        gen.generate(PROMPT)
    assert server.requests[0]["model"] == "teamkb-adapter:20261121"
    assert gen.adapter == "teamkb-adapter:20261121"


@pytest.mark.parametrize(
    ("server_kwargs", "message"),
    [({"models": ("other",)}, r"refused the request \(404\)"), ({"status": 500}, r"\(500\)")],
)
def test_server_errors_become_generator_unavailable(server_kwargs, message):
    with FakeOllama(**server_kwargs) as server:
        gen = OllamaGenerator(host=server.url, model="gemma3:270m")
        with pytest.raises(GeneratorUnavailable, match=message):
            gen.generate(PROMPT)


def test_unreachable_and_timeout():
    with FakeOllama() as server:
        url = server.url
    with pytest.raises(GeneratorUnavailable, match="unreachable"):
        OllamaGenerator(host=url, model="gemma3:270m", timeout_s=2).generate(PROMPT)
    with FakeOllama(delay_s=2) as slow:
        gen = OllamaGenerator(host=slow.url, model="gemma3:270m", timeout_s=0.3)
        with pytest.raises(GeneratorUnavailable, match="timed out"):
            gen.generate(PROMPT)


def test_unreachable_ollama_degrades_the_answer(handbook_home, embedder):
    with FakeOllama() as server:
        url = server.url
    gen = GeneratorSettings(backend="ollama", ollama_host=url, timeout_s=2)
    engine = build_engine(make_settings(handbook_home, generator=gen, answer_cache=False),
                          embedder=embedder)  # fmt: skip
    answer = engine.ask("How do I roll back a deploy?")
    assert answer.degraded and "unreachable" in answer.notice and answer.citations


def _live_host() -> str | None:
    host = os.environ.get("OLLAMA_HOST")
    if not host:
        return None
    url = host if "://" in host else f"http://{host}"
    try:
        urllib.request.urlopen(f"{url}/api/version", timeout=2)
    except OSError:
        return None
    return url


@pytest.mark.live
@pytest.mark.skipif(_live_host() is None, reason="no live Ollama at OLLAMA_HOST")
def test_live_ollama_answers(handbook_home, embedder):
    model = os.environ.get("TEAMKB_GENERATOR_OLLAMA_MODEL", "gemma3:270m")
    gen = GeneratorSettings(backend="ollama", ollama_host=_live_host() or "", ollama_model=model)
    engine = build_engine(make_settings(handbook_home, generator=gen, answer_cache=False),
                          embedder=embedder)  # fmt: skip
    answer = engine.ask("How do I roll back a deploy?")
    assert not answer.degraded, answer.notice
    assert answer.text


def test_failure_messages_never_show_credentials_from_the_host_url():
    with FakeOllama() as server:
        url = server.url
    host = url.replace("http://", "http://admin:s3cret@")
    with pytest.raises(GeneratorUnavailable) as err:
        OllamaGenerator(host=host, model="gemma3:270m", timeout_s=2).generate(PROMPT)
    assert "s3cret" not in str(err.value) and "admin" not in str(err.value)
    assert url in str(err.value)
