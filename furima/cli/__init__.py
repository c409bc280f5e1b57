"""The ``furima`` command: thin Typer commands over the library."""

from __future__ import annotations

import typer

from furima.cli._automl import automl_app
from furima.cli._buyer_search import buyer_search_app
from furima.cli._demo import demo
from furima.cli._experiments import experiments_app
from furima.cli._ingest import ingest
from furima.cli._listing import listing_app
from furima.cli._models import models_app
from furima.cli._photo import photo_app
from furima.cli._price import price_app
from furima.cli._rank import rank_app
from furima.cli._recommend import recommend_app
from furima.cli._risk import risk_app
from furima.cli._safety import safety_app
from furima.cli._search import index_app, search
from furima.cli._serve import deploy, serve

__all__ = ["app", "main"]

app = typer.Typer(
    name="furima",
    help="furima: the ML platform for second-hand marketplaces.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("ingest")(ingest)
app.command("demo")(demo)
app.add_typer(price_app, name="price")
app.add_typer(index_app, name="index")
app.command("search")(search)
app.add_typer(photo_app, name="photo")
app.add_typer(listing_app, name="listing")
app.command("serve")(serve)
app.command("deploy")(deploy)
app.add_typer(models_app, name="models")
app.add_typer(automl_app, name="automl")
app.add_typer(recommend_app, name="recommend")
app.add_typer(safety_app, name="safety")
app.add_typer(rank_app, name="rank")
app.add_typer(buyer_search_app, name="buyer-search")
app.add_typer(experiments_app, name="experiments")
app.add_typer(risk_app, name="risk")


def main() -> None:
    """Entry point of the ``furima`` console script."""
    app()
