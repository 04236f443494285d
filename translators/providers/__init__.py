"""Upstream providers with a wire format of their own (CodeGPT, CodeGeeX, Qwen, Gemini Code Assist...):
the pure half of each, building requests and decoding answers. Their I/O half (credentials, token
refresh, discovery) lives in addons/providers/."""
