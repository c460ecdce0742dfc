"""The API's request parser: DRF's JSON parser, with every undecodable body answered as a 400."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's parser catches ValueError only; JSON nested deeper than Python's recursion limit
    (a few kilobytes of ``[[[[…``) makes the decoder raise RecursionError, which was a 500.
    """

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
