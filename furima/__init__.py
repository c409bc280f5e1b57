"""furima: the ML platform for second-hand marketplaces.

Subpackages, lower never importing higher: ``catalog`` (listings in, validated, stored),
``features`` (encoders), ``pricing`` (price suggestion), ``cli``.
"""

from __future__ import annotations

from furima.exceptions import FurimaError

__version__ = "0.1.0"

__all__ = ["FurimaError", "__version__"]
