"""create_app(): routers, middleware, error handlers, and the engine's lifespan."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from sqlalchemy.ext.asyncio import AsyncEngine

from app import __version__
from app.api import (
    audit,
    counts,
    dashboard,
    docs,
    figures,
    lapor,
    offices,
    ops,
    progress,
    quality,
    regions,
    tokens,
)
from app.auth import limits_for
from app.config import Settings, get_settings
from app.db import create_engine, create_read_session_factory, create_session_factory
from app.errors import install_handlers
from app.middleware import BufferedBody, RequestContext
from app.migrate import head_revision
from app.revalidation import Revalidation
from app.schemas import BatchIn, CountIn, ErrorOut, FigureBatchIn, OfficeBatchIn, RegionBatchIn


def create_app(settings: Settings | None = None, engine: AsyncEngine | None = None) -> FastAPI:
    """The service. Tests pass their own engine; otherwise one is made from settings."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_engine = engine is None
        app.state.engine = engine or create_engine(settings)
        app.state.session_factory = create_session_factory(app.state.engine)
        app.state.read_session_factory = create_read_session_factory(app.state.engine, settings)
        try:
            yield
        finally:
            if own_engine:
                await app.state.engine.dispose()

    app = FastAPI(
        title="Rekam",
        version=__version__,
        summary="Daily e-KTP recording counts and progress toward targets",
        lifespan=lifespan,
        docs_url=None,  # app/api/docs.py serves /docs
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
        # Bearer tokens, not cookies, so a body without Content-Type carries no CSRF risk:
        # it is read as JSON.
        strict_content_type=False,
        # A redirect to the slash-less path would be built from the Host header.
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.limits = limits_for(settings)
    app.state.head_revision = head_revision()
    if engine is not None:
        # Tests drive the app without running its lifespan.
        app.state.engine = engine
        app.state.session_factory = create_session_factory(engine)
        app.state.read_session_factory = create_read_session_factory(engine, settings)
    install_handlers(app)
    for module in (
        ops,
        tokens,
        regions,
        figures,
        offices,
        counts,
        progress,
        quality,
        audit,
        dashboard,
        lapor,
    ):
        app.include_router(module.router)
    app.mount("/dashboard/static", dashboard.static_files, name="dashboard-static")
    if settings.docs_enabled:
        docs.install(app)

    app.add_middleware(Revalidation, settings=settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "PUT", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "X-Request-ID"],
            expose_headers=["ETag", "X-Request-ID"],
        )
    app.add_middleware(
        BufferedBody, max_bytes=settings.max_body_bytes, timeout=settings.body_timeout_seconds
    )
    app.add_middleware(
        RequestContext,
        send_timeout=settings.send_timeout_seconds,
        log_requests=settings.log_requests,
    )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    logging.getLogger("rekam").setLevel(logging.INFO)
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        # Routes that read their bodies themselves name their JSON shapes here.
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (BatchIn, CountIn, ErrorOut, RegionBatchIn, OfficeBatchIn, FigureBatchIn):
            defs = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(defs.pop("$defs", {}))
            components[model.__name__] = defs
        app.openapi_schema = schema
    return app.openapi_schema
