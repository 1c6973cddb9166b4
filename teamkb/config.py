"""Load the one Settings object: defaults < teamkb.toml < TEAMKB_* environment variables.

This is the only module that reads the environment (secrets excepted: the Slack front
end reads its tokens itself and never logs them). That includes the standard AWS
variables of an object-store index (see `storage_options`): they become LanceDB storage
options in Settings, so the engine and the knowledge layer never look at os.environ.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from engine import CollectionSettings, ConfigError, GeneratorSettings, RetrievalSettings, Settings

CONFIG_NAME = "teamkb.toml"
T = TypeVar("T")


def default_home() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("teamkb", appauthor=False))


def find_config(start: Path | None = None) -> Path | None:
    """teamkb.toml in the working folder or any parent (like git finds .git)."""
    here = (start or Path.cwd()).resolve()
    for folder in [here, *here.parents]:
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def _validate(cls: type[T], values: Mapping[str, Any], source: Mapping[str, str]) -> T:
    """pydantic validates (and coerces "2" to 2); its errors become one ConfigError that
    names where each bad value came from: `source` maps a field to its env variable or
    `[section] key`."""
    try:
        return TypeAdapter(cls).validate_python(dict(values))
    except ValidationError as exc:
        problems = []
        known = ", ".join(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else ""
            where = source.get(name, name)
            if err["type"] == "unexpected_keyword_argument":
                problems.append(f"Unknown setting {where} (known: {known})")
            elif err["type"].endswith("_parsing") or err["type"].endswith("_type"):
                expected = type(getattr(cls(), name, "")).__name__
                problems.append(f"{where}={err['input']!r} is not a valid {expected}")
            else:
                problems.append(f"{where}={err['input']!r}: {err['msg']}")
        raise ConfigError("; ".join(problems)) from exc


def _section(cls: type[T], data: Mapping[str, Any], env: Mapping[str, str], prefix: str) -> T:
    """One settings table: teamkb.toml's values, each overridden by TEAMKB_<PREFIX>_<KEY>."""
    values = dict(data)
    source = {k: f"[{prefix.lower()}] {k}" for k in data}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        env_key = f"TEAMKB_{prefix}_{f.name.upper()}"
        if env_key in env:
            values[f.name], source[f.name] = env[env_key], env_key
    return _validate(cls, values, source)


def _read_toml(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    if not path.is_file():
        raise ConfigError(f"Config file not found: {path}")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc


def _resolver(base: Path) -> Callable[[str], str]:
    """Paths in teamkb.toml are relative to its folder; URIs are left alone."""

    def rel(p: str) -> str:
        if "://" in p:
            return p
        return str((base / Path(p).expanduser()).resolve())

    return rel


def _with_paths(
    cls: type[T],
    data: Mapping[str, Any],
    env: Mapping[str, str],
    prefix: str,
    keys: tuple[str, ...],
    rel: Callable[[str], str],
) -> T:
    """A settings table whose `keys` are paths: relative to teamkb.toml's folder when
    written there, to the working folder when they come from the environment."""
    values = dict(data)
    for key in keys:
        if values.get(key):
            values[key] = rel(values[key])
    section = _section(cls, values, env, prefix)
    resolved = {k: str(Path(v).resolve()) if (v := getattr(section, k)) else "" for k in keys}
    return dataclasses.replace(section, **resolved)  # type: ignore[type-var]  # T: a dataclass


def _retrieval(
    data: Mapping[str, Any], env: Mapping[str, str], rel: Callable[[str], str]
) -> RetrievalSettings:
    keys = ("reranker", "embedding_model")
    return _with_paths(RetrievalSettings, data, env, "RETRIEVAL", keys, rel)


def _generator(
    data: Mapping[str, Any], env: Mapping[str, str], rel: Callable[[str], str]
) -> GeneratorSettings:
    keys = ("model_path", "lora_path")
    generator = _with_paths(GeneratorSettings, data, env, "GENERATOR", keys, rel)
    if "OLLAMA_HOST" in env and "TEAMKB_GENERATOR_OLLAMA_HOST" not in env:
        host = env["OLLAMA_HOST"]
        generator = dataclasses.replace(
            generator, ollama_host=host if "://" in host else f"http://{host}"
        )
    return generator


def _collections(data: Mapping[str, Any], rel: Callable[[str], str]) -> dict[str, Any]:
    collections = {}
    for name, c in (data or {}).items():
        paths = c.get("paths", [])
        if isinstance(paths, str):
            paths = [paths]
        collections[name] = CollectionSettings(
            name=name, paths=tuple(rel(p) for p in paths), url=c.get("url", "")
        )
    return collections


def _top_level(data: Mapping[str, Any], env: Mapping[str, str]) -> _TopLevel:
    values: dict[str, Any] = {k: data[k] for k in _TopLevel.__dataclass_fields__ if k in data}
    source = {k: k for k in values}
    for name, env_key in (("default_collection", "TEAMKB_COLLECTION"),
                          ("answer_cache", "TEAMKB_ANSWER_CACHE")):  # fmt: skip
        if env.get(env_key):
            values[name], source[name] = env[env_key], env_key
    return _validate(_TopLevel, values, source)


# The standard AWS variables → LanceDB (object_store) storage options.
AWS_VARIABLES = {
    "AWS_ACCESS_KEY_ID": "aws_access_key_id",
    "AWS_SECRET_ACCESS_KEY": "aws_secret_access_key",
    "AWS_SESSION_TOKEN": "aws_session_token",
    "AWS_ENDPOINT_URL": "aws_endpoint",
    "AWS_REGION": "aws_region",
    "AWS_ALLOW_HTTP": "allow_http",
}


def storage_options(index_uri: str, env: Mapping[str, str]) -> dict[str, str]:
    """LanceDB storage options for an s3:// index from the AWS variables that are set.

    A key id without its secret (or the reverse) is refused here, naming the missing
    variable, rather than failing later with a signature error."""
    if not index_uri.startswith("s3://"):
        return {}
    opts = {key: env[var] for var, key in AWS_VARIABLES.items() if env.get(var)}
    if "aws_region" not in opts and env.get("AWS_DEFAULT_REGION"):
        opts["aws_region"] = env["AWS_DEFAULT_REGION"]
    pair = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    have = [var for var in pair if env.get(var)]
    if len(have) == 1:
        missing = next(var for var in pair if var not in have)
        raise ConfigError(
            f"index_uri {index_uri} uses {have[0]} but {missing} is not set: set both, "
            "or neither (to use the instance's role)."
        )
    return opts


def load_settings(
    config: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    env = os.environ if env is None else env
    path = config or (Path(env["TEAMKB_CONFIG"]) if env.get("TEAMKB_CONFIG") else None)
    path = path or find_config(cwd)
    data = _read_toml(path)
    rel = _resolver(path.parent.resolve() if path is not None else (cwd or Path.cwd()))
    home_raw = env.get("TEAMKB_HOME") or data.get("home")
    index_uri = env.get("TEAMKB_INDEX_URI") or data.get("index_uri") or ""
    state_url = env.get("TEAMKB_STATE_URL") or data.get("state_url") or ""
    if state_url and not str(state_url).startswith(("postgresql://", "postgres://")):
        raise ConfigError("state_url must be a postgresql://… URL (leave it out for SQLite).")
    top = _top_level(data, env)
    return Settings(
        home=Path(rel(str(home_raw))) if home_raw else default_home(),
        index_uri=rel(index_uri) if index_uri else "",
        default_collection=top.default_collection,
        collections=_collections(data.get("collections") or {}, rel),
        retrieval=_retrieval(data.get("retrieval", {}), env, rel),
        generator=_generator(data.get("generator", {}), env, rel),
        answer_cache=top.answer_cache,
        max_question_chars=top.max_question_chars,
        sections={k: v for k, v in data.items() if isinstance(v, dict) and k not in _OWN_TABLES},
        config_file=str(path) if path else "",
        state_url=str(state_url),
        storage_options=storage_options(str(index_uri), env),
    )


_OWN_TABLES = {"retrieval", "generator", "collections"}


@dataclasses.dataclass(frozen=True)
class _TopLevel:
    """The scalar settings at the top of teamkb.toml that pydantic checks."""

    default_collection: str = "handbook"
    answer_cache: bool = True
    max_question_chars: int = 2000
