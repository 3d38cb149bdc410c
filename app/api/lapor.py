"""Lapor, the office's data-entry page: the page and its service worker always revalidated,
every other asset under a content-hash path that never changes meaning (so it is cached
for a year and a phone on a slow link fetches it once)."""

import gzip
import hashlib
import json
from pathlib import Path
from typing import Annotated, NamedTuple

from fastapi import APIRouter, Header, Response

from app.errors import NotFound

SOURCE = Path(__file__).resolve().parent.parent / "static" / "lapor"
PAGE = "index.html"
WORKER = "sw.js"
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".html": "text/html; charset=utf-8",
}
IMMUTABLE = "public, max-age=31536000, immutable"


class Asset(NamedTuple):
    media_type: str
    plain: bytes
    gzipped: bytes


class Bundle(NamedTuple):
    version: str
    page: Asset
    worker: Asset
    assets: dict[str, Asset]


def _asset(name: str, content: bytes) -> Asset:
    # mtime=0: the same bytes give the same gzip, run after run.
    return Asset(MEDIA_TYPES[Path(name).suffix], content, gzip.compress(content, 9, mtime=0))


def assets_path(version: str) -> str:
    return f"/lapor/assets/{version}"


def load_bundle(source: Path = SOURCE) -> Bundle:
    """Reads the files once; the version is the hash of every asset, so any change to one
    gives all of them new names and the page and worker point at the new names."""
    files = {
        path.name: path.read_bytes()
        for path in sorted(source.iterdir())
        if path.is_file() and path.suffix in MEDIA_TYPES and path.name not in (PAGE, WORKER)
    }
    digest = hashlib.sha256()
    for name, content in files.items():
        digest.update(name.encode() + b"\0" + content + b"\0")
    version = digest.hexdigest()[:16]
    prefix = assets_path(version)
    urls = json.dumps([f"{prefix}/{name}" for name in files])

    def filled(name: str) -> Asset:
        text = (source / name).read_text(encoding="utf-8")
        text = text.replace('["__ASSET_URLS__"]', urls).replace("__ASSETS__", prefix)
        return _asset(name, text.encode())

    return Bundle(
        version=version,
        page=filled(PAGE),
        worker=filled(WORKER),
        assets={name: _asset(name, content) for name, content in files.items()},
    )


BUNDLE = load_bundle()

router = APIRouter(include_in_schema=False)
AcceptEncoding = Annotated[str, Header()]


def _answer(asset: Asset, accept_encoding: str, headers: dict[str, str]) -> Response:
    headers = {**headers, "Vary": "Accept-Encoding"}
    if "gzip" in accept_encoding.lower():
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.plain, media_type=asset.media_type, headers=headers)


@router.get("/lapor")
async def page(accept_encoding: AcceptEncoding = "") -> Response:
    """The page; its scripts and styles are under /lapor/assets/<version>/."""
    return _answer(BUNDLE.page, accept_encoding, {"Cache-Control": "no-cache"})


@router.get("/lapor/sw.js")
async def worker(accept_encoding: AcceptEncoding = "") -> Response:
    """The service worker; it may control /lapor itself, one level above its own path."""
    return _answer(
        BUNDLE.worker,
        accept_encoding,
        {"Cache-Control": "no-cache", "Service-Worker-Allowed": "/lapor"},
    )


@router.get("/lapor/assets/{version}/{name}")
async def asset(version: str, name: str, accept_encoding: AcceptEncoding = "") -> Response:
    """An asset of this version; another version's name is 404, never other content."""
    found = BUNDLE.assets.get(name)
    if version != BUNDLE.version or found is None:
        raise NotFound(f"no Lapor asset {version}/{name}")
    return _answer(found, accept_encoding, {"Cache-Control": IMMUTABLE})
