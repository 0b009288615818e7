"""Footprints, geodesy, the antimeridian, exact overlap tests and margins around footprints."""

from deconflict.geometry.footprint import Footprint, circle_footprint, polygon_footprint
from deconflict.geometry.geodesy import area_m2, distance_m
from deconflict.geometry.overlap import footprints_conflict, gap_m, overlap_regions

__all__ = [
    "Footprint",
    "area_m2",
    "circle_footprint",
    "distance_m",
    "footprints_conflict",
    "gap_m",
    "overlap_regions",
    "polygon_footprint",
]
