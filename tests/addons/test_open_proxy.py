from __future__ import annotations

import pytest
from mitmproxy import exceptions

from addons.gateway import refuse_open_proxy


@pytest.mark.parametrize("modes,host,auth", [
    (["regular"], "127.0.0.1", None),
    (["reverse:http://x"], "0.0.0.0", None),       # reverse mode serves only the bridge's API
    (["regular"], "0.0.0.0", "user:pass"),
    (["regular@127.0.0.1:8081"], "", None),
])
def test_allowed(modes: list[str], host: str, auth: str | None) -> None:
    refuse_open_proxy(modes, host, auth)


@pytest.mark.parametrize("modes,host", [(["regular"], ""), (["regular"], "0.0.0.0"), (["socks5"], "10.0.0.5"),
                                        (["reverse:http://x", "upstream:http://p:1"], "0.0.0.0")])
def test_refused(modes: list[str], host: str) -> None:
    with pytest.raises(exceptions.OptionsError, match="open proxy"):
        refuse_open_proxy(modes, host, None)
