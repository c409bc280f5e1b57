"""The naive serving baseline: FastAPI + uvicorn, one model call per request, no batching.

What a team writes first: a pydantic request model, a plain ``def`` handler that FastAPI runs
in its thread pool, a one-row DataFrame per request. furima's server is measured against it::

    python benchmarks/_naive_server.py --model DIR --port 8123

Endpoints: ``POST /v1/price:suggest`` and ``GET /healthz``.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import pandas as pd
    from fastapi import FastAPI

    from furima.pricing import PriceSuggester

_CORE = ("name", "description", "brand", "category", "condition", "shipping")


class PriceRequest(BaseModel):
    """One listing to price."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=500)
    description: str | None = None
    brand: str | None = None
    category: str | None = None
    condition: int | None = Field(None, ge=1, le=5)
    shipping: int | None = Field(None, ge=0, le=1)
    listing_id: str | None = None
    attributes: dict[str, str] | None = None


def listing_frame(request: PriceRequest) -> pd.DataFrame:
    """The request as a one-row listings frame; attributes become extra columns."""
    import pandas as pd

    row: dict[str, Any] = {column: getattr(request, column) for column in _CORE}
    if request.listing_id is not None:
        row["listing_id"] = request.listing_id
    for key, value in (request.attributes or {}).items():
        row.setdefault(key, value)
    return pd.DataFrame([row])


def create_app(model: PriceSuggester) -> FastAPI:
    """The baseline app around an already-loaded model."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    from furima.exceptions import DataError

    app = FastAPI(title="naive price baseline")

    @app.exception_handler(DataError)
    async def data_error(_: Request, exc: DataError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/price:suggest")
    def suggest(request: PriceRequest) -> dict[str, Any]:
        return model.suggest(listing_frame(request))[0].to_dict()

    return app


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve a PriceSuggester the naive way.")
    parser.add_argument("--model", required=True, help="Directory of a saved PriceSuggester.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Load the model, then serve it with one uvicorn worker until interrupted."""
    args = _parse_args(argv)
    # Idle OpenMP threads must not spin on a small shared machine; an honest deployment sets it.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import uvicorn

    from furima.pricing import PriceSuggester

    app = create_app(PriceSuggester.load(args.model))
    uvicorn.run(app, host=args.host, port=args.port, workers=1, log_level="warning")


if __name__ == "__main__":
    main()
