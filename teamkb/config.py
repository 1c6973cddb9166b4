"""Load the one Settings object: defaults < teamkb.toml < TEAMKB_* environment variables.

This is the only module that reads the environment (secrets excepted: the Slack front
end reads its tokens itself and never logs them).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.settings import CollectionSettings, GeneratorSettings, RetrievalSettings, Settings

CONFIG_NAME = "teamkb.toml"


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


def _coerce(value: str, target: Any, key: str) -> Any:
    try:
        if isinstance(target, bool):
            if value.lower() in {"1", "true", "yes", "on"}:
                return True
            if value.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(value)
        if isinstance(target, int):
            return int(value)
        if isinstance(target, float):
            return float(value)
    except ValueError as exc:
        raise ConfigError(f"{key}={value!r} is not a valid {type(target).__name__}") from exc
    return value


def _section(cls: type, data: Mapping[str, Any], env: Mapping[str, str], prefix: str) -> Any:
    defaults = cls()
    values: dict[str, Any] = {}
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(
            f"Unknown setting(s) in [{prefix.lower()}]: {', '.join(sorted(unknown))}. "
            f"Known: {', '.join(sorted(known))}"
        )
    for name in known:
        value = data.get(name, getattr(defaults, name))
        env_key = f"TEAMKB_{prefix}_{name.upper()}"
        if env_key in env:
            value = _coerce(env[env_key], getattr(defaults, name), env_key)
        values[name] = value
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"Invalid [{prefix.lower()}] settings: {exc}") from exc


def load_settings(
    config: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    env = os.environ if env is None else env
    path = config or (Path(env["TEAMKB_CONFIG"]) if env.get("TEAMKB_CONFIG") else None)
    path = path or find_config(cwd)
    data: dict[str, Any] = {}
    base = cwd or Path.cwd()
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"Config file not found: {path}")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
        base = path.parent.resolve()

    def rel(p: str) -> str:
        if "://" in p:
            return p
        return str((base / Path(p).expanduser()).resolve())

    home_raw = env.get("TEAMKB_HOME") or data.get("home")
    home = Path(rel(str(home_raw))) if home_raw else default_home()
    index_uri = env.get("TEAMKB_INDEX_URI") or data.get("index_uri") or ""
    retrieval = _section(RetrievalSettings, data.get("retrieval", {}), env, "RETRIEVAL")
    gen_data = dict(data.get("generator", {}))
    for key in ("model_path", "lora_path"):
        if gen_data.get(key):
            gen_data[key] = rel(gen_data[key])
    generator = _section(GeneratorSettings, gen_data, env, "GENERATOR")
    if "OLLAMA_HOST" in env and "TEAMKB_GENERATOR_OLLAMA_HOST" not in env:
        host = env["OLLAMA_HOST"]
        generator = dataclasses.replace(
            generator, ollama_host=host if "://" in host else f"http://{host}"
        )
    for key in ("model_path", "lora_path"):
        value = getattr(generator, key)
        if value and not Path(value).is_absolute():
            generator = dataclasses.replace(generator, **{key: str(Path(value).resolve())})
    collections = {}
    for name, c in (data.get("collections") or {}).items():
        paths = c.get("paths", [])
        if isinstance(paths, str):
            paths = [paths]
        collections[name] = CollectionSettings(
            name=name, paths=tuple(rel(p) for p in paths), url=c.get("url", "")
        )
    sections = {
        k: v
        for k, v in data.items()
        if isinstance(v, dict) and k not in {"retrieval", "generator", "collections"}
    }
    return Settings(
        home=home,
        index_uri=rel(index_uri) if index_uri else "",
        default_collection=env.get("TEAMKB_COLLECTION")
        or data.get("default_collection")
        or "handbook",
        collections=collections,
        retrieval=retrieval,
        generator=generator,
        answer_cache=_coerce(env["TEAMKB_ANSWER_CACHE"], True, "TEAMKB_ANSWER_CACHE")
        if "TEAMKB_ANSWER_CACHE" in env
        else bool(data.get("answer_cache", True)),
        max_question_chars=int(data.get("max_question_chars", 2000)),
        sections=sections,
        config_file=str(path) if path else "",
    )
