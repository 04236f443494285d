from __future__ import annotations

import json

import pytest

from addons.admin_config import masked
from addons.admin_config import read
from addons.admin_config import rewritten
from addons.admin_config import shown
from addons.admin_config import validate
from addons.admin_config import with_secrets
from addons.settings import ConfigError

KEY = "sk-client-key-0123456789"
UP = "sk-upstream-key-0123456789"
ACC = "sk-account-key-0123456789"
STORED = {
    "client_keys": [KEY],
    "key_file": "state/client_key",
    "providers": {
        "p": {"type": "openai-compatible", "base_url": "http://127.0.0.1:1/v1", "api_key": UP,
              "headers": {"x-goog-api-key": "AIza-header-secret-000", "x-trace": "plain"},
              "accounts": [{"name": "a", "api_key": ACC, "token_file": "state/a.json", "proxy": "http://127.0.0.1:2"}]},
    },
    "aliases": {"monkey": "p/model-with-key-in-name"},
}


def test_every_secret_is_masked_and_nothing_else() -> None:
    view = masked(STORED)
    text = json.dumps(view)
    for secret in (KEY, UP, ACC, "AIza-header-secret-000"):
        assert secret not in text
    assert view["client_keys"] == [shown(KEY)] and shown(KEY).startswith("sk-c") and "…" in shown(KEY)
    p = view["providers"]["p"]
    assert p["headers"]["x-trace"] == "plain" and p["accounts"][0]["token_file"] == "state/a.json"
    assert view["key_file"] == "state/client_key" and view["aliases"] == {"monkey": "p/model-with-key-in-name"}
    assert p["accounts"][0]["proxy"] == "http://127.0.0.1:2"


def test_short_secret_shows_no_prefix() -> None:
    assert "abc" not in shown("abcdef") and shown("abcdef").startswith("…")


def test_masked_and_empty_secrets_resolve_to_the_stored_ones() -> None:
    edit = masked(STORED)
    p = edit["providers"]["p"]
    p["api_key"] = ""  # left empty: kept
    p["accounts"].insert(0, {"name": "new", "api_key": "sk-brand-new-key-0000"})  # the old one moves to index 1
    edit["client_keys"].append("sk-second-client-key-000")
    data = with_secrets(edit, STORED)
    q = data["providers"]["p"]
    assert q["api_key"] == UP and q["headers"]["x-goog-api-key"] == "AIza-header-secret-000"
    assert [a["api_key"] for a in q["accounts"]] == ["sk-brand-new-key-0000", ACC]
    assert data["client_keys"] == [KEY, "sk-second-client-key-000"]


def test_an_empty_secret_with_nothing_stored_is_left_out() -> None:
    edit = masked(STORED)
    edit["providers"]["p"]["accounts"].append({"name": "b", "api_key": ""})
    edit["client_keys"].append("")
    data = with_secrets(edit, STORED)
    assert data["providers"]["p"]["accounts"][1] == {"name": "b"} and data["client_keys"] == [KEY]


def test_a_masked_value_of_no_stored_secret_is_refused() -> None:
    edit = masked(STORED)
    edit["providers"]["p"]["api_key"] = "sk-u…deadbeef"
    with pytest.raises(ConfigError, match=r"providers\.p\.api_key.*matches no stored secret"):
        with_secrets(edit, STORED)


def test_validate_is_what_load_checks() -> None:
    assert validate(STORED, "f.yaml", env={}).providers["p"].api_key.get_secret_value() == UP
    bad = {**STORED, "default_provider": "missing"}
    with pytest.raises(ConfigError, match="default_provider"):
        validate(bad, "f.yaml", env={})
    with pytest.raises(ConfigError, match=r"f\.yaml: providers\.p\.base_url"):
        validate({"providers": {"p": {"base_url": "ftp://x"}}}, "f.yaml", env={})
    assert validate({}, "f.yaml", env={"OPENAI_API_KEY": "sk-env"}).providers["openai"].api_key is not None


def test_rewritten_keeps_comments_and_reads_back() -> None:
    old = ("# the bridge\nclient_keys:\n  - sk-old  # the operator's\nproviders:\n  p:\n"
           "    type: openai-compatible  # local server\n    base_url: http://127.0.0.1:1/v1\n")
    data = read(old)
    data["providers"]["p"]["models"] = ["m1"]
    data["aliases"] = {"fast": "p/m1"}
    text = rewritten(old, data)
    assert "# the bridge" in text and "# the operator's" in text and "# local server" in text
    assert read(text) == data


def test_a_json_file_becomes_block_yaml() -> None:
    old = json.dumps(STORED)
    data = read(old)
    data["aliases"]["fast"] = "p/m"
    text = rewritten(old, data)
    assert not text.lstrip().startswith("{") and read(text) == data
