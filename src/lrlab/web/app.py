"""The web app of ``lrlab serve``: the page, its assets and a JSON API (FastAPI).

Routes (all ``GET``; bad input is a 400 with ``{"error": {"message", "parameter",
...}}``, never a 500):

- ``/``: the page (``static/index.html``); ``/static/...``: its JavaScript and CSS.
- ``/api/info``: the version, the served directory, the palette (`lrlab.plot.PALETTE`).
- ``/api/schedules``: every spec name with its parameters (`designer.constructor_forms`).
- ``/api/curve?spec=&steps=&width=``: a schedule's curve as a pixel-width envelope
  (`designer.curve_of`).
- ``/api/export?spec=&per=&name=``: the spec, PyTorch code and a TOML entry
  (`designer.exports`).
- ``/api/stores``: the stores under the served directory with their experiments and runs.
- ``/api/experiment?store=&id=``: one experiment (`experiments.experiment_document`).

The stores are only ever opened read-only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from lrlab import __version__
from lrlab.plot import PALETTE
from lrlab.web import designer, experiments

__all__ = ["STATIC", "create_app"]

STATIC = Path(__file__).parent / "static"
"""The page's own files (HTML, JavaScript, CSS): nothing is fetched from elsewhere."""


def _error(status: int, message: str, **fields: Any) -> JSONResponse:
    return JSONResponse({"error": {"message": message, **fields}}, status_code=status)


def create_app(directory: str | Path) -> FastAPI:
    """The app serving the designer and the stores under ``directory`` (read-only)."""
    root = Path(directory)
    app = FastAPI(title="lrlab", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(designer.DesignError)
    def design_error(_request: Request, error: designer.DesignError) -> JSONResponse:
        return JSONResponse({"error": error.to_dict()}, status_code=400)

    @app.exception_handler(experiments.BrowseError)
    def browse_error(_request: Request, error: experiments.BrowseError) -> JSONResponse:
        return _error(404, str(error))

    @app.exception_handler(RequestValidationError)
    def bad_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0]
        where = first.get("loc", ())
        name = str(where[-1]) if where else "request"
        value = first.get("input")
        shown = "nothing" if value is None else repr(value)
        return _error(400, f"{name}: {first.get('msg', 'bad value')}, got {shown}", parameter=name)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/info")
    def info() -> JSONResponse:
        return JSONResponse(
            {"version": __version__, "directory": str(root), "palette": list(PALETTE)}
        )

    @app.get("/api/schedules")
    def schedules() -> JSONResponse:
        return JSONResponse(designer.constructor_forms())

    @app.get("/api/curve")
    def curve(spec: str, steps: int | None = None, width: int = 800) -> JSONResponse:
        return JSONResponse(designer.curve_of(spec, steps=steps, width=width).to_dict())

    @app.get("/api/export")
    def export(spec: str, per: str = "epoch", name: str | None = None) -> JSONResponse:
        return JSONResponse(designer.exports(spec, per=per, name=name))

    @app.get("/api/stores")
    def stores() -> JSONResponse:
        return JSONResponse(experiments.stores_document(root))

    @app.get("/api/experiment")
    def experiment(store: str, id: str | None = None) -> JSONResponse:
        return JSONResponse(experiments.experiment_document(root, store, id))

    return app
