"""The request body parser: JSON, and every way JSON can fail to parse is a 400."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JsonParser(JSONParser):
    """DRF's JSON parser, also answering 400 ``malformed_json`` for a too-deeply nested body.

    DRF turns only ``ValueError`` into a parse error; ``json`` raises
    ``RecursionError`` for nesting deeper than the interpreter's recursion
    limit (``[[[[…`` fits in a small body), which would otherwise be a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply") from exc
