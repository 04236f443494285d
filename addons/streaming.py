"""The value the bridge puts in flow.response.stream: upstream chunk in, translated chunks out."""

from __future__ import annotations

import logging

from translators.errors import BridgeError
from translators.pipeline import StreamPipeline

logger = logging.getLogger(__name__)


class StreamAdapter:
    """mitmproxy calls this once per received chunk and once with b"" at the end of the body."""

    __slots__ = ("pipeline", "flow_id")

    def __init__(self, pipeline: StreamPipeline, flow_id: str) -> None:
        self.pipeline, self.flow_id = pipeline, flow_id

    def __call__(self, data: bytes) -> list[bytes]:
        # Never return b"": mid-stream it becomes an empty chunk, i.e. the end of an HTTP/1.1 body.
        try:
            return self.pipeline.feed(data) if data else self.pipeline.flush()
        except Exception:  # raised here, mitmproxy would log a crash and drop the chunk silently
            logger.exception("stream translation failed for flow %s", self.flow_id)
            return self.pipeline.fail(BridgeError.of("api_error", "The bridge failed to translate the stream."))
