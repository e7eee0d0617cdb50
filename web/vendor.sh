#!/bin/sh
# Copy the map page's third-party files from web/node_modules (after `npm ci`) into DEST:
# the one list that `make static` and the Docker image both use.
set -eu
modules="$(dirname "$0")/node_modules"
dest="$1"
rm -rf "$dest"
mkdir -p "$dest/images"
cp "$modules/leaflet/dist/leaflet.js" "$modules/leaflet/dist/leaflet.css" "$dest/"
cp "$modules"/leaflet/dist/images/*.png "$dest/images/"
cp "$modules/leaflet/LICENSE" "$dest/LICENSE.leaflet"
cp "$modules/topojson-client/dist/topojson-client.min.js" "$dest/"
cp "$modules/topojson-client/LICENSE" "$dest/LICENSE.topojson-client"
cp "$modules/world-atlas/countries-110m.json" "$dest/"
cp "$modules/world-atlas/LICENSE" "$dest/LICENSE.world-atlas"
