"""What the two HTTP backends of the Fetcher must do alike where their libraries differ.

aiohttp's own decompression is off, so decoding, the size cap while
inflating and the error mapping are ours there; each case runs on both
backends against a bare server that answers exactly the bytes a test sets.
"""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterable

import aiohttp
import httpx
import pytest

from bot.errors import BodyTooLarge, FetchConnectionError, FetchError
from bot.settings import HttpClient
from bot.sources.fetcher import Fetcher, FetchLimits, decoded_body
from bot.sources.http_backend import ContentDecoder, content_codings

LIMITS = FetchLimits(timeout_seconds=5.0, max_bytes=200_000)
FEED = b"<rss><channel><title>World</title>" + b"<item>news</item>" * 500 + b"</channel></rss>"


class RawServer:
    """Answers each request with the bytes set for its path, then closes the connection."""

    def __init__(self) -> None:
        self.answers: dict[str, bytes] = {}
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(
        self,
        path: str,
        body: bytes = b"",
        *,
        status: int = 200,
        headers: Iterable[tuple[str, str]] = (),
        length: int | None = None,
    ) -> str:
        """Serve ``body`` at ``path`` (``length``: a Content-Length other than the body's)."""
        head = [
            f"HTTP/1.1 {status} Whatever",
            f"Content-Length: {len(body) if length is None else length}",
            "Connection: close",
            *(f"{name}: {value}" for name, value in headers),
        ]
        self.answers[path] = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        return self.url(path)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = await reader.readline()
        await reader.readuntil(b"\r\n\r\n")
        path = request_line.split()[1].decode()
        writer.write(self.answers[path])
        await writer.drain()
        writer.close()
        await writer.wait_closed()


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    raw = RawServer()
    listening = await asyncio.start_server(raw.serve, "127.0.0.1", 0)
    raw.port = listening.sockets[0].getsockname()[1]
    async with listening:
        yield raw


@pytest.fixture
async def fetcher(http_client: HttpClient) -> AsyncIterator[Fetcher]:
    fetcher = Fetcher.create(LIMITS, http_client)
    yield fetcher
    await fetcher.aclose()


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


ENCODED: dict[str, tuple[str, bytes]] = {
    "deflate-zlib": ("deflate", zlib.compress(FEED)),
    "deflate-raw": ("deflate", raw_deflate(FEED)),
    "gzip-then-deflate": ("gzip, deflate", zlib.compress(gzip.compress(FEED))),
    "gzip-twice": ("gzip,GZIP", gzip.compress(gzip.compress(FEED))),
    "identity": ("identity", FEED),
    "unknown-coding-kept": ("br", FEED),
}


@pytest.mark.parametrize("case", ENCODED)
@pytest.mark.parametrize("decode", [True, False])
async def test_bodies_are_decoded_as_httpx_decodes_them(
    server: RawServer, fetcher: Fetcher, case: str, decode: bool
):
    coding, body = ENCODED[case]
    url = server.answer("/feed.xml", body, headers=[("Content-Encoding", coding)])

    result = await fetcher.fetch(url, decode=decode)

    assert result.body == FEED
    assert result.content_encoding is None


async def test_a_corrupt_gzip_body_raises_a_decoding_fetch_error(
    server: RawServer, fetcher: Fetcher
):
    corrupt = gzip.compress(FEED)[:10] + b"\x07\x00\x00"  # a reserved block type
    url = server.answer("/feed.xml", corrupt, headers=[("Content-Encoding", "gzip")])

    with pytest.raises(FetchError, match="DecodingError: Error -3") as caught:
        await fetcher.fetch(url)

    assert type(caught.value) is FetchError


async def test_a_gzip_bomb_is_refused_decoded_and_kept_raw_undecoded(
    server: RawServer, fetcher: Fetcher
):
    bomb = gzip.compress(b"\0" * 20_000_000)  # ~20 KB that inflate to 20 MB
    url = server.answer("/bomb.xml", bomb, headers=[("Content-Encoding", "gzip")])

    with pytest.raises(BodyTooLarge, match="body over 200000 bytes"):
        await fetcher.fetch(url)
    raw = await fetcher.fetch(url, decode=False)

    assert (raw.body, raw.content_encoding) == (bomb, "gzip")
    with pytest.raises(BodyTooLarge):
        decoded_body(raw.body, "gzip", url=url, max_bytes=LIMITS.max_bytes)


async def test_aiohttp_stops_inflating_a_bomb_at_the_cap(server: RawServer):
    bomb = gzip.compress(b"\0" * 50_000_000)
    url = server.answer("/bomb.xml", bomb, headers=[("Content-Encoding", "gzip")])
    server.answer("/small.xml", FEED)
    fetcher = Fetcher.create(FetchLimits(max_bytes=1_000_000), "aiohttp")
    await fetcher.fetch(server.url("/small.xml"))  # the session and its buffers exist
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge):
            await fetcher.fetch(url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        await fetcher.aclose()

    assert peak < 10_000_000  # httpx inflates the whole 50 MB chunk before counting it


async def test_a_redirect_to_another_scheme_raises_fetch_error(
    server: RawServer, fetcher: Fetcher, http_client: HttpClient
):
    url = server.answer("/feed.xml", status=301, headers=[("Location", "ftp://127.0.0.1/f.xml")])

    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url)

    assert type(caught.value) is FetchError
    cause = {
        "aiohttp": aiohttp.NonHttpUrlRedirectClientError,
        "httpx": httpx.UnsupportedProtocol,
    }[http_client]
    assert isinstance(caught.value.__cause__, cause)


BROKEN_ANSWERS = {
    "body-cut-short": b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n<rss>",
    "no-http-answer": b"this is not HTTP\r\n\r\n",
}


@pytest.mark.parametrize("case", BROKEN_ANSWERS)
async def test_a_broken_answer_raises_fetch_connection_error(
    server: RawServer, fetcher: Fetcher, case: str
):
    server.answers["/feed.xml"] = BROKEN_ANSWERS[case]

    with pytest.raises(FetchConnectionError):
        await fetcher.fetch(server.url("/feed.xml"))


@pytest.mark.parametrize("case", ENCODED)
def test_content_decoder_fed_in_small_chunks_gives_what_httpx_gives(case: str):
    coding, body = ENCODED[case]
    expected = httpx.Response(200, headers={"Content-Encoding": coding}, content=body).read()
    decoder = ContentDecoder(content_codings([coding]), url="http://x", max_bytes=len(FEED))

    chunks = [decoder.decode(body[start : start + 7]) for start in range(0, len(body), 7)]

    assert b"".join(chunks) + decoder.flush() == expected == FEED


def test_content_decoder_refuses_one_byte_over_the_cap():
    decoder = ContentDecoder(["deflate"], url="http://x", max_bytes=len(FEED) - 1)

    with pytest.raises(BodyTooLarge, match="http://x: body over"):
        decoder.decode(zlib.compress(FEED))
