"""Pure translation between LLM API dialects: no I/O, no mitmproxy, no clock."""
