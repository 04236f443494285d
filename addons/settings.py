"""The bridge's configuration: one YAML file validated by pydantic, every value overridable by
environment variables. Loading is strict: an error names the field and its line, and the bridge
refuses to start (or, on reload, keeps the previous configuration)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any
from typing import Literal

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import SecretStr
from pydantic import ValidationError
from pydantic import field_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

# Which client dialects each provider type answers natively, first = the one used for the others.
NATIVE_DIALECTS: dict[str, tuple[str, ...]] = {
    "openai": ("openai-chat", "openai-responses"),
    "openai-compatible": ("openai-chat",),
    "openai-responses": ("openai-responses",),
    "anthropic": ("anthropic-messages",),
}
DEFAULT_BASE_URL = {
    "openai": "https://api.openai.com/v1",
    "openai-responses": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com/v1",
}
ENV_PREFIX = "BRIDGE_"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Provider(Strict):
    type: str = "openai-compatible"
    base_url: str | None = Field(None, description="Upstream base URL including /v1")
    api_key: SecretStr | None = None
    models: list[str] = Field(default_factory=list, description="model ids advertised in /v1/models")
    model_map: dict[str, str] = Field(default_factory=dict, description="client model name -> upstream name")
    dialects: list[Literal["openai-chat", "openai-responses", "anthropic-messages"]] | None = None
    headers: dict[str, str] = Field(default_factory=dict, description="extra headers sent upstream")
    organization: str | None = None
    project: str | None = None
    accounts: list[dict[str, Any]] = Field(default_factory=list, description="several credentials, round-robin")
    options: dict[str, Any] = Field(default_factory=dict, description="provider-specific settings")
    proxy: str | None = Field(None, description="HTTP proxy for this provider's upstream connections")

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        from addons.providers import PLUGIN_MODULES

        known = [*NATIVE_DIALECTS, *PLUGIN_MODULES]
        if v not in known:
            raise ValueError(f"unknown provider type {v!r}; known: {', '.join(known)}")
        return v

    @field_validator("accounts")
    @classmethod
    def _accounts(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, acc in enumerate(v):
            proxy = acc.get("proxy")
            if proxy is not None and not str(proxy).startswith(("http://", "https://")):
                raise ValueError(f"accounts[{i}].proxy must be an http:// or https:// URL")
        return v

    @property
    def is_plugin(self) -> bool:
        return self.type not in NATIVE_DIALECTS

    def account_fields(self) -> list[dict[str, Any]]:
        """The accounts to pool; a provider configured with a single key is one account."""
        if self.accounts:
            return [dict(a) for a in self.accounts]
        single = dict(self.options)
        if self.api_key is not None:
            single["api_key"] = self.api_key.get_secret_value()
        return [single]

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/") if v else v

    def url(self) -> str:
        url = self.base_url or DEFAULT_BASE_URL.get(self.type)
        if url is None and self.is_plugin:
            from addons.providers import plugin

            found = plugin(self.type)
            url = getattr(found.module, "DEFAULT_BASE_URL", None) if found else None
        if url is None:
            raise ValueError("base_url is required for this provider type")
        return url

    def native_dialects(self) -> tuple[str, ...]:
        return tuple(self.dialects) if self.dialects else NATIVE_DIALECTS.get(self.type, ())


class Failover(Strict):
    max_attempts: int = Field(3, ge=1, le=20, description="upstream attempts per request, first included")
    budget_seconds: float = Field(60, gt=0, description="no new attempt starts after this long")


class DailyLimits(Strict):
    daily_requests: int | None = Field(None, ge=0, description="requests per client key and UTC day")
    daily_tokens: int | None = Field(None, ge=0, description="input + output tokens per client key and UTC day")


class UsageSettings(DailyLimits):
    """Usage accounting (addons/usage.py); the limits here apply to every client key."""

    enabled: bool = True
    path: str = Field("usage.sqlite3", description="SQLite file, relative to the state directory (key_file's)")
    metrics_public: bool = Field(False, description="serve /metrics without a client key (Prometheus scraping)")
    key_limits: dict[str, DailyLimits] = Field(
        default_factory=dict, description="key id (as in /admin/usage) -> limits replacing the defaults")


class BridgeConfig(Strict):
    client_keys: list[SecretStr] = Field(default_factory=list)
    key_file: str = "state/client_key"
    default_provider: str | None = None
    providers: dict[str, Provider] = Field(default_factory=dict)
    aliases: dict[str, str] = Field(default_factory=dict, description="model alias -> 'prefix/model'")
    max_body_bytes: int = Field(32 * 1024 * 1024, gt=0)
    idle_timeout_seconds: float = Field(
        300, gt=0, description="an upstream silent this long (before or during its answer) is given up")
    ping_seconds: float = Field(
        10, gt=0, description="during a stream, an upstream silent this long gets the client a keep-alive")
    failover: Failover = Field(default_factory=Failover)
    fallbacks: dict[str, list[str]] = Field(
        default_factory=dict, description="model or provider name -> models tried when all its accounts fail")
    responses_store_size: int = Field(1000, ge=0, description="answers kept for previous_response_id")
    cors: bool = True
    intercept_hosts: list[str] = Field(
        default_factory=lambda: ["api.openai.com", "api.anthropic.com", "api.githubcopilot.com",
                                 "generativelanguage.googleapis.com"],
        description="in regular/transparent/local/wireguard modes, the hosts whose API calls the bridge takes over")
    redis_url: str | None = Field(
        None, description="redis://, rediss:// or unix:// URL: bridges using the same one share pool state and usage")
    redis_prefix: str = Field("llm-bridge", min_length=1, description="prefix of the bridge's keys in Redis")
    usage: UsageSettings = Field(default_factory=UsageSettings)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, v: str | None) -> str | None:
        if v and not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return v or None

    @field_validator("providers")
    @classmethod
    def _names(cls, v: dict[str, Provider]) -> dict[str, Provider]:
        for name, p in v.items():
            if "/" in name or not name:
                raise ValueError(f"provider name {name!r} may not be empty or contain '/'")
            if not p.is_plugin:
                p.url()  # base_url required for types without a default
        return v

    def model_post_init(self, _: Any) -> None:
        if self.default_provider is not None and self.default_provider not in self.providers:
            raise ValueError(f"default_provider {self.default_provider!r} is not a configured provider")


class ConfigError(Exception):
    pass


def load(path: str | None, env: dict[str, str] | None = None) -> BridgeConfig:
    """Read, override from the environment, validate. Raises ConfigError with a readable message."""
    env = dict(os.environ) if env is None else env
    raw, lines = _read_yaml(path) if path else ({}, {})
    data = apply_env(raw, env)
    try:
        cfg = BridgeConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_explain(e, path, lines)) from None
    except ValueError as e:
        raise ConfigError(f"{path or 'configuration'}: {e}") from None
    if path and not Path(cfg.key_file).is_absolute():
        cfg.key_file = str(Path(path).resolve().parent / cfg.key_file)
    return cfg


def _read_yaml(path: str) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    try:
        doc = YAML(typ="rt").load(io.StringIO(text))
    except YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}") from None
    if doc is None:
        return {}, {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    lines: dict[tuple[str, ...], int] = {}
    _collect_lines(doc, (), lines)
    return _plain(doc), lines


def _collect_lines(node: Any, prefix: tuple[str, ...], out: dict[tuple[str, ...], int]) -> None:
    """ruamel keeps each key's line: remember them so errors can say where."""
    if isinstance(node, dict) and hasattr(node, "lc"):
        for key in node:
            pos = node.lc.key(key)
            out[prefix + (str(key),)] = pos[0] + 1
            _collect_lines(node[key], prefix + (str(key),), out)
    elif isinstance(node, list) and hasattr(node, "lc"):
        for i, item in enumerate(node):
            out[prefix + (str(i),)] = node.lc.item(i)[0] + 1
            _collect_lines(item, prefix + (str(i),), out)


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _explain(e: ValidationError, path: str | None, lines: dict[tuple[str, ...], int]) -> str:
    msgs = []
    for err in e.errors():
        loc = tuple(str(p) for p in err["loc"])
        line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)
        where = f"{path}:{line}" if path and line else (path or "configuration")
        msgs.append(f"{where}: {'.'.join(loc) or '(top level)'}: {err['msg']}")
    return "invalid configuration:\n  " + "\n  ".join(msgs)


def apply_env(raw: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Environment overrides, strongest last:
    - `<PROVIDER>_API_KEY` / `<PROVIDER>_BASE_URL` set a provider's key/URL; a provider named like a
      known type (OPENAI_API_KEY) is created when the file does not have it, so one-provider
      deployments need no file at all.
    - `BRIDGE_<FIELD>` and `BRIDGE_<FIELD>__<KEY>__<SUBKEY>` set any value (lists comma-separated).
    """
    from addons.providers import PLUGIN_MODULES
    from addons.providers import plugin

    data = _plain(raw)
    providers = data.setdefault("providers", {})
    for ptype in ("openai", "anthropic", *PLUGIN_MODULES):
        found = plugin(ptype) if ptype in PLUGIN_MODULES else None
        creates = found.runtime.env_creates if found else ("api_key",)
        if ptype not in providers and any(env.get(f"{ptype.upper()}_{f.upper()}") for f in creates):
            providers[ptype] = {"type": ptype}
    for name, p in providers.items():
        if isinstance(p, dict):
            var = name.upper().replace("-", "_")
            for suffix, field in (("_API_KEY", "api_key"), ("_BASE_URL", "base_url")):
                if env.get(var + suffix):
                    p[field] = env[var + suffix]
            found = plugin(p.get("type", "")) if p.get("type") in PLUGIN_MODULES else None
            for field in (found.runtime.env_fields if found else ()):
                if field != "api_key" and env.get(f"{var}_{field.upper()}"):
                    p.setdefault("options", {})[field] = env[f"{var}_{field.upper()}"]
    for key, value in sorted(env.items()):
        if key.startswith(ENV_PREFIX) and key[len(ENV_PREFIX):] and key not in ("BRIDGE_PYTHON", "BRIDGE_VENV"):
            _set_path(data, [p.lower() for p in key[len(ENV_PREFIX):].split("__")], value)
    if not providers:
        data.pop("providers")
    return data


LIST_FIELDS = {"client_keys", "models"}


def _set_path(data: dict[str, Any], parts: list[str], value: str) -> None:
    node = data
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            return
    leaf = parts[-1]
    node[leaf] = [v.strip() for v in value.split(",") if v.strip()] if leaf in LIST_FIELDS else value
