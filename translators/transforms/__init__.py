"""IR -> IR transforms applied between a client codec and an upstream codec (architecture.md 2.3):
prompt-based tool calling for upstreams without native tools (prompt_tools)."""
