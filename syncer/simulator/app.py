"""Assemble the aiohttp application: API routes behind the gateway, plus the control plane."""

from __future__ import annotations

from aiohttp import web

from syncer.simulator.api import API_PREFIX, ROUTES, SIMULATOR, json_response
from syncer.simulator.control import CONTROL_ROUTES, guarded
from syncer.simulator.core import Simulator
from syncer.simulator.gateway import gateway
from syncer.simulator.openapi import OPENAPI_PATH, openapi_document


async def _openapi(request: web.Request) -> web.StreamResponse:
    return json_response(openapi_document())


def build_app(simulator: Simulator) -> web.Application:
    """An app serving ``simulator``; reach the simulator again through ``app[SIMULATOR]``."""
    app = web.Application(middlewares=[gateway])
    app[SIMULATOR] = simulator
    for route in ROUTES:
        app.router.add_route(route.method, API_PREFIX + route.path, route.handler)
    for control in CONTROL_ROUTES:
        app.router.add_route(control.method, control.path, guarded(control.handler))
    app.router.add_get(OPENAPI_PATH, _openapi)
    return app
