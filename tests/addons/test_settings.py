from __future__ import annotations

from pathlib import Path

import pytest

from addons.settings import ConfigError
from addons.settings import load


def write(tmp_path: Path, text: str) -> str:
    p = tmp_path / "bridge.yaml"
    p.write_text(text)
    return str(p)


def test_example_config_is_valid() -> None:
    cfg = load(str(Path(__file__).resolve().parents[2] / "config.example.yaml"), env={})
    assert cfg.default_provider in cfg.providers


def test_error_names_field_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "default_provider: a\nproviders:\n  a:\n    type: openai\n    base_ur: http://x\n")
    with pytest.raises(ConfigError) as e:
        load(path, env={})
    assert f"{path}:5" in str(e.value) and "providers.a.base_ur" in str(e.value)


def test_bad_type_value(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  a:\n    type: telepathy\n    base_url: http://x\n")
    with pytest.raises(ConfigError) as e:
        load(path, env={})
    assert ":3" in str(e.value) and "providers.a.type" in str(e.value)


def test_unknown_default_provider(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="default_provider"):
        load(write(tmp_path, "default_provider: nope\n"), env={})


def test_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid YAML"):
        load(write(tmp_path, "providers: [unclosed\n"), env={})


def test_compatible_provider_needs_base_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="base_url is required"):
        load(write(tmp_path, "providers:\n  x:\n    type: openai-compatible\n"), env={})


def test_env_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, "default_provider: ds\nproviders:\n  ds:\n    base_url: http://a/v1\n    api_key: file\n")
    cfg = load(path, env={"DS_API_KEY": "from-env", "BRIDGE_PROVIDERS__DS__BASE_URL": "http://b/v1",
                          "BRIDGE_CLIENT_KEYS": "k1, k2", "BRIDGE_ALIASES__FAST": "ds/m"})
    ds = cfg.providers["ds"]
    assert ds.api_key is not None and ds.api_key.get_secret_value() == "from-env"
    assert ds.url() == "http://b/v1" and cfg.aliases == {"fast": "ds/m"}
    assert [k.get_secret_value() for k in cfg.client_keys] == ["k1", "k2"]


def test_one_provider_deployment_from_env_alone() -> None:
    cfg = load(None, env={"OPENAI_API_KEY": "sk-x", "BRIDGE_DEFAULT_PROVIDER": "openai"})
    assert cfg.providers["openai"].url() == "https://api.openai.com/v1"
    assert cfg.default_provider == "openai"


def test_secrets_not_in_repr(tmp_path: Path) -> None:
    cfg = load(None, env={"OPENAI_API_KEY": "sk-very-secret"})
    assert "sk-very-secret" not in repr(cfg) and "sk-very-secret" not in str(cfg.model_dump())


def test_gemini_developer_api_key_does_not_create_code_assist_provider() -> None:
    assert "gemini" not in load(None, env={"GEMINI_API_KEY": "AIza-dev"}).providers
    cfg = load(None, env={"GEMINI_TOKEN_FILE": "/tmp/oauth_creds.json"})
    assert cfg.providers["gemini"].options["token_file"] == "/tmp/oauth_creds.json"


def test_codegpt_env_variables_make_a_provider() -> None:
    cfg = load(None, env={"CODEGPT_API_KEY": "sk-c", "CODEGPT_AGENT_ID": "agent-1", "CODEGPT_ORG_ID": "org-1",
                          "BRIDGE_DEFAULT_PROVIDER": "codegpt"})
    (account,) = cfg.providers["codegpt"].account_fields()
    assert account == {"api_key": "sk-c", "agent_id": "agent-1", "org_id": "org-1"}
