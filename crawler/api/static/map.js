// The coverage map: the crawled territories over the world's country outlines, coloured by role
// or commodity, and what covers a clicked point. Plain script, no build step; everything it
// loads comes from this API (Leaflet and the outlines are bundled under static/vendor).
(function () {
  "use strict";

  const ROLE_COLOURS = {
    authoritative: "#1b7837",
    direct: "#2166ac",
    official: "#d95f02",
    aggregator: "#7b3294",
  };
  const PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"];
  const OTHER = "#6b7280";
  const MAX_RESULT_PAGES = 20;

  const params = new URLSearchParams(window.location.search);
  const token = params.get("token");
  const ui = {
    count: document.getElementById("territory-count"),
    filter: document.getElementById("filter"),
    colourBy: document.getElementById("colour-by"),
    legend: document.getElementById("legend"),
    results: document.getElementById("point-results"),
    message: document.getElementById("message"),
  };

  class Unauthorized extends Error {}

  function showMessage(text) {
    ui.message.textContent = text;
    ui.message.hidden = !text;
  }

  function explain(error) {
    if (!(error instanceof Unauthorized)) return `The API could not be read: ${error.message}`;
    return token
      ? "The API refused the token given in this page's address (?token=…)."
      : "This API requires a bearer token: open this page as /?token=YOUR_TOKEN.";
  }

  async function api(path) {
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    const response = await fetch(path, { headers });
    if (response.status === 401) throw new Unauthorized("401");
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    return response.json();
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function plural(count, word, words) {
    return `${count} ${count === 1 ? word : words}`;
  }

  if (typeof L === "undefined" || typeof topojson === "undefined") {
    showMessage("The map's scripts are missing from static/vendor: build them with `make static`.");
    document.body.dataset.state = "error";
    return;
  }

  const WORLD = [[-58, -170], [84, 180]]; // the inhabited world, for a map with no territory
  const map = L.map("map", { worldCopyJump: true, minZoom: 1, zoomSnap: 0.25 });
  map.fitBounds(WORLD, { animate: false });
  window.cdsMap = map; // for tests and the curious: the Leaflet map object
  map.createPane("countries").style.zIndex = 350; // under the territories (overlayPane is 400)
  map.attributionControl.addAttribution("Country outlines: Natural Earth");
  const marker = L.circleMarker([0, 0], {
    radius: 6, color: "#102a43", weight: 2, fillColor: "#fff", fillOpacity: 1, interactive: false,
  });

  // --- territories: drawn, coloured, filtered --------------------------------------------

  let territories = []; // {feature, layer, text}
  const drawn = L.featureGroup().addTo(map);

  function colourKey(feature) {
    const properties = feature.properties;
    if (ui.colourBy.value === "role") return properties.role || "unknown";
    const commodities = [...(properties.commodity_types || [])].sort();
    return commodities.length ? commodities.join(" + ") : "none";
  }

  function palette() {
    if (ui.colourBy.value === "role") return (key) => ROLE_COLOURS[key] || OTHER;
    const keys = [...new Set(territories.map((t) => colourKey(t.feature)))].sort();
    return (key) => PALETTE[keys.indexOf(key) % PALETTE.length] || OTHER;
  }

  function recolour() {
    const colourOf = palette();
    for (const { feature, layer } of territories) {
      const colour = colourOf(colourKey(feature));
      layer.setStyle({
        color: colour,
        fillColor: colour,
        weight: 2,
        fillOpacity: 0.3,
        dashArray: feature.properties.valid === false ? "6 4" : null,
      });
    }
    drawLegend(colourOf);
  }

  function drawLegend(colourOf) {
    const counts = new Map();
    for (const { feature, layer } of territories) {
      if (!drawn.hasLayer(layer)) continue;
      const key = colourKey(feature);
      counts.set(key, (counts.get(key) || 0) + 1);
    }
    ui.legend.replaceChildren();
    if (!counts.size) {
      const filtered = territories.length || filterQuery().toString();
      ui.legend.append(element("li", "hint", filtered
        ? "No territory matches the filters."
        : "No territories have been crawled yet."));
    }
    for (const key of [...counts.keys()].sort()) {
      const item = element("li");
      const swatch = element("span", "swatch");
      swatch.style.background = colourOf(key);
      item.append(swatch, element("span", "", key), element("span", "count", counts.get(key)));
      ui.legend.append(item);
    }
  }

  function applyFilter() {
    const wanted = ui.filter.value.trim().toLowerCase();
    let shown = 0;
    for (const { layer, text } of territories) {
      if (!wanted || text.includes(wanted)) {
        drawn.addLayer(layer);
        shown += 1;
      } else {
        drawn.removeLayer(layer);
      }
    }
    ui.count.textContent = plural(shown, "territory", "territories");
    recolour();
  }

  function describe(properties) {
    return [properties.entity_name, properties.name].filter(Boolean).join(": ");
  }

  // The page's own ?role=&commodity=&country= narrow both the territories and the lookups.
  function filterQuery() {
    const query = new URLSearchParams();
    for (const name of ["role", "commodity", "country"]) {
      if (params.get(name)) query.set(name, params.get(name));
    }
    return query;
  }

  async function drawTerritories() {
    const query = filterQuery().toString();
    const collection = await api(`v1/exports/territories.geojson${query ? `?${query}` : ""}`);
    territories = (collection.features || []).map((feature) => {
      const layer = L.geoJSON(feature, { className: "territory" });
      layer.bindTooltip(`${describe(feature.properties)} (${feature.properties.role})`, {
        sticky: true,
      });
      const text = `${feature.properties.entity_name || ""} ${feature.properties.name || ""}`;
      return { feature, layer, text: text.toLowerCase() };
    });
    applyFilter();
    if (territories.length) {
      map.fitBounds(drawn.getBounds(), { padding: [24, 24], maxZoom: 9, animate: false });
    }
  }

  // A ring that crosses the antimeridian jumps by about 360° between two of its points, which
  // Leaflet would draw as a band across the whole map: continue it past ±180° instead. A ring
  // around a pole (Antarctica) does not come back to where it started that way, and is kept.
  function unwrap(ring) {
    let previous = ring[0][0];
    const continued = ring.map(([lon, lat]) => {
      let x = lon;
      while (x - previous > 180) x -= 360;
      while (x - previous < -180) x += 360;
      previous = x;
      return [x, lat];
    });
    return Math.abs(continued[continued.length - 1][0] - ring[0][0]) < 180 ? continued : ring;
  }

  function unwrapCountries(collection) {
    for (const { geometry } of collection.features) {
      if (geometry && geometry.type === "Polygon") {
        geometry.coordinates = geometry.coordinates.map(unwrap);
      } else if (geometry && geometry.type === "MultiPolygon") {
        geometry.coordinates = geometry.coordinates.map((rings) => rings.map(unwrap));
      }
    }
    return collection;
  }

  async function drawCountries() {
    try {
      const response = await fetch("static/vendor/countries-110m.json");
      if (!response.ok) return; // the territories are still worth seeing without outlines
      const world = await response.json();
      L.geoJSON(unwrapCountries(topojson.feature(world, world.objects.countries)), {
        pane: "countries",
        className: "country",
        interactive: false,
        style: { color: "#9fb3c8", weight: 0.7, fillColor: "#f7f5ef", fillOpacity: 1 },
      }).addTo(map);
    } catch (error) {
      showMessage(`The country outlines could not be drawn: ${error.message}`);
    }
  }

  // --- what covers a point ---------------------------------------------------------------

  let latestPoint = 0; // a slow answer for an earlier click must not replace a newer one

  async function coverageAt(lat, lon) {
    const items = [];
    let cursor = null;
    for (let page = 0; page < MAX_RESULT_PAGES; page += 1) {
      const query = filterQuery();
      query.set("lat", lat);
      query.set("lon", lon);
      if (cursor) query.set("cursor", cursor);
      const body = await api(`v1/coverage?${query}`);
      items.push(...(body.items || []));
      cursor = body.next; // the cursor of the next page, null on the last
      if (!cursor) break;
    }
    return items;
  }

  function resultItem(item) {
    const row = element("li");
    const link = element("a");
    link.href = item.link;
    link.append(element("strong", "", item.entity_name || "(no entity name)"));
    link.append(document.createTextNode(` — ${item.name || item.entry_id}`));
    const commodities = (item.commodity_types || []).join(", ") || "no commodity";
    const meta = [item.role, commodities, item.country, item.valid === false ? "has findings" : ""];
    row.append(link, element("div", "meta", meta.filter(Boolean).join(" · ")));
    row.style.borderLeftColor = ROLE_COLOURS[item.role] || OTHER;
    return row;
  }

  async function showPoint(latlng) {
    const point = latlng.wrap();
    const lat = point.lat.toFixed(5);
    const lon = point.lng.toFixed(5);
    const query = ++latestPoint;
    marker.setLatLng(latlng).addTo(map);
    ui.results.dataset.state = "loading";
    ui.results.replaceChildren(element("p", "hint", `Looking up ${lat}, ${lon}…`));
    let body;
    try {
      const items = await coverageAt(lat, lon);
      body = items.length
        ? element("ul")
        : element("p", "empty", "Nothing covers this point.");
      for (const item of items) body.append(resultItem(item));
    } catch (error) {
      body = element("p", "error", explain(error));
    }
    if (query !== latestPoint) return;
    ui.results.replaceChildren(element("p", "hint", `At ${lat}, ${lon}:`), body);
    ui.results.dataset.state = "done";
  }

  // --- wiring ----------------------------------------------------------------------------

  ui.filter.addEventListener("input", applyFilter);
  ui.colourBy.addEventListener("change", recolour);
  map.on("click", (event) => showPoint(event.latlng));

  Promise.all([drawCountries(), drawTerritories()])
    .then(() => {
      document.body.dataset.state = "ready";
    })
    .catch((error) => {
      ui.count.textContent = "no territories";
      showMessage(explain(error));
      document.body.dataset.state = error instanceof Unauthorized ? "unauthorized" : "error";
    });
})();
