"""Bodies of ``GET /v1/map/overlays``: the deployment's map overlays, as GeoJSON."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from deconflict.channel.overlays import Overlay, OverlayFeature

__all__ = ["OverlayFeatureOut", "OverlayOut", "OverlayPropertiesOut", "OverlayStyleOut", "OverlaysOut"]


class OverlayStyleOut(BaseModel):
    """How the file says to draw a feature; a missing value: the default of its kind."""

    colour: str | None = Field(default=None, description="#rgb or #rrggbb")
    weight_px: float | None = Field(default=None, description="line width, pixels")
    dash: str | None = Field(default=None, description='SVG dash lengths in pixels, e.g. "6 4"')
    fill_opacity: float | None = Field(default=None, description="0 to 1 (areas)")


class OverlayPropertiesOut(BaseModel):
    """A feature's label, kind and style."""

    name: str
    kind: Literal["line", "airway", "restricted", "fir"]
    style: OverlayStyleOut


class OverlayFeatureOut(BaseModel):
    """One line or area of an overlay, a GeoJSON Feature (positions [lon, lat])."""

    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] = Field(description="GeoJSON Point, LineString, Polygon or their Multi forms")
    properties: OverlayPropertiesOut

    @classmethod
    def of(cls, feature: OverlayFeature) -> OverlayFeatureOut:
        """The response body of one feature."""
        s = feature.style
        style = OverlayStyleOut(
            colour=s.colour, weight_px=s.weight_px, dash=s.dash, fill_opacity=s.fill_opacity
        )
        return cls(
            geometry=dict(feature.geometry),
            properties=OverlayPropertiesOut(name=feature.name, kind=feature.kind, style=style),  # type: ignore[arg-type]
        )


class OverlayOut(BaseModel):
    """One overlay file as a GeoJSON FeatureCollection, with its name (a layer of the map)."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    name: str = Field(description="the collection's name member, else the file's stem")
    file: str = Field(description="the file's name (not its path)")
    features: list[OverlayFeatureOut]

    @classmethod
    def of(cls, overlay: Overlay) -> OverlayOut:
        """The response body of one overlay file."""
        return cls(
            name=overlay.name, file=overlay.file, features=[OverlayFeatureOut.of(f) for f in overlay.features]
        )


class OverlaysOut(BaseModel):
    """The deployment's overlays, in the order configured; the same for every party."""

    overlays: list[OverlayOut]
