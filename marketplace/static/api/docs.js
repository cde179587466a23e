// The API docs page: reads the OpenAPI document and lists its operations, parameters, request
// bodies, responses and schemas. Only DOM text nodes are written (no innerHTML), and no inline
// script or style is needed, as the site's Content-Security-Policy requires.
(function () {
  "use strict";
  var root = document.getElementById("api-docs");
  if (!root) { return; }
  var text = root.dataset;
  var METHOD_STYLE = { get: "primary", post: "success", patch: "warning", put: "warning",
                       "delete": "danger" };

  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (content !== undefined && content !== null) { node.textContent = String(content); }
    return node;
  }

  function refName(ref) { return ref.split("/").pop(); }

  // The descriptions' only markup: **bold** and `code`, turned into elements (never HTML).
  function rich(tag, className, source) {
    var node = el(tag, className);
    String(source || "").split(/(\*\*[^*]+\*\*|`[^`]+`)/).forEach(function (part) {
      if (/^\*\*[^*]+\*\*$/.test(part)) {
        node.appendChild(el("strong", null, part.slice(2, -2)));
      } else if (/^`[^`]+`$/.test(part)) {
        node.appendChild(el("code", null, part.slice(1, -1)));
      } else if (part) {
        node.appendChild(document.createTextNode(part));
      }
    });
    return node;
  }

  function resolve(spec, item) {
    return item && item.$ref ? resolve(spec, lookup(spec, item.$ref)) : item;
  }

  function lookup(spec, ref) {
    return ref.replace(/^#\//, "").split("/").reduce(function (node, key) {
      return node[key];
    }, spec);
  }

  function typeOf(schema) {
    if (!schema) { return ""; }
    if (schema.$ref) { return refName(schema.$ref); }
    if (schema.anyOf) { return schema.anyOf.map(typeOf).join(" | "); }
    if (schema.type === "array") { return typeOf(schema.items) + "[]"; }
    var type = schema.type || "object";
    if (schema.format) { type += " (" + schema.format + ")"; }
    if (schema["enum"]) { type += ": " + schema["enum"].join(" | "); }
    if (schema.minimum !== undefined && schema.maximum !== undefined) {
      type += " [" + schema.minimum + ", " + schema.maximum + "]";
    }
    if (schema.maxLength) { type += " ≤ " + schema.maxLength; }
    return type;
  }

  function table(headers, rows) {
    var t = el("table", "table table-sm align-middle");
    var head = el("thead");
    var tr = el("tr");
    headers.forEach(function (h) { tr.appendChild(el("th", null, h)); });
    head.appendChild(tr);
    t.appendChild(head);
    var body = el("tbody");
    rows.forEach(function (row) {
      var line = el("tr");
      row.forEach(function (cell, i) { line.appendChild(el("td", i === 0 ? "font-monospace" : null, cell)); });
      body.appendChild(line);
    });
    t.appendChild(body);
    return t;
  }

  function operation(spec, path, method, op) {
    var box = el("details", "api-op card mb-2");
    box.id = op.operationId;
    if (window.location.hash === "#" + op.operationId) { box.open = true; }
    var summary = el("summary", "card-header");
    summary.appendChild(el("span", "api-method badge text-bg-" + (METHOD_STYLE[method] || "secondary") + " me-2",
                           method.toUpperCase()));
    summary.appendChild(el("span", "api-path me-2", "/api/v1" + path));
    summary.appendChild(el("span", "text-muted", op.summary));
    if ((op.security || []).some(function (s) { return Object.keys(s).length === 0; })) {
      summary.appendChild(el("span", "badge text-bg-light ms-2", text.public));
    }
    box.appendChild(summary);
    var body = el("div", "card-body");
    if (op.description) { body.appendChild(rich("p", "api-description", op.description)); }
    var params = op.parameters || [];
    if (params.length) {
      body.appendChild(el("h3", "h6", text.parameters));
      body.appendChild(table(["name", "in", "type", ""], params.map(function (p) {
        return [p.name, p["in"], typeOf(p.schema), (p.required ? text.required + " " : "") +
                (p.schema && p.schema.description || "").replace(/`/g, "")];
      })));
    }
    if (op.requestBody) {
      var schema = op.requestBody.content["application/json"].schema;
      var required = schema.required || [];
      body.appendChild(el("h3", "h6", text.body));
      body.appendChild(table(["field", "type", ""], Object.keys(schema.properties).map(function (name) {
        var field = schema.properties[name];
        return [name, typeOf(field), (required.indexOf(name) >= 0 ? text.required + " " : "") +
                (field.description || "").replace(/`/g, "")];
      })));
    }
    body.appendChild(el("h3", "h6", text.responses));
    body.appendChild(table(["status", "", ""], Object.keys(op.responses).map(function (status) {
      var response = resolve(spec, op.responses[status]);
      var content = response.content && response.content["application/json"];
      return [status, response.description, content ? typeOf(content.schema) : ""];
    })));
    box.appendChild(body);
    return box;
  }

  function render(spec) {
    root.textContent = "";
    var intro = rich("div", "api-description mb-3", spec.info.description);
    root.appendChild(intro);
    var byTag = {};
    Object.keys(spec.paths).forEach(function (path) {
      Object.keys(spec.paths[path]).forEach(function (method) {
        var op = spec.paths[path][method];
        var tag = (op.tags || ["other"])[0];
        (byTag[tag] = byTag[tag] || []).push([path, method, op]);
      });
    });
    (spec.tags || []).forEach(function (tag) {
      if (!byTag[tag.name]) { return; }
      root.appendChild(el("h2", "h5 mt-4", tag.name));
      byTag[tag.name].forEach(function (entry) {
        root.appendChild(operation(spec, entry[0], entry[1], entry[2]));
      });
    });
    root.appendChild(el("h2", "h5 mt-4", text.schemas));
    Object.keys(spec.components.schemas).forEach(function (name) {
      var box = el("details", "api-op card mb-2");
      box.appendChild(el("summary", "card-header font-monospace", name));
      var pre = el("pre", "api-schema card-body mb-0",
                   JSON.stringify(spec.components.schemas[name], null, 2));
      box.appendChild(pre);
      root.appendChild(box);
    });
  }

  fetch(root.dataset.spec, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    })
    .then(function (spec) {
      render(spec);
      var target = window.location.hash && document.getElementById(window.location.hash.slice(1));
      if (target) { target.scrollIntoView(); }
    })
    .catch(function () {
      root.textContent = "";
      root.appendChild(el("div", "alert alert-danger", text.failed));
    });
})();
