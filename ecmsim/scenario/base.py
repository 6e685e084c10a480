"""What every scenario section shares: strict, frozen pydantic models and the length type."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Length = Annotated[float, Field(gt=0, lt=1.0, strict=True, allow_inf_nan=False)]
"""A positive length below 1 m [m]."""


class Section(BaseModel):
    """A scenario section: unknown keys refused, types strict, values frozen once validated."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


__all__ = ["Length", "Section"]
