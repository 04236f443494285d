"""mitmproxy addons of the bridge; the entry point is addons/bridge.py."""
