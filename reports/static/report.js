/* govpulse report: the interactive accounts table, sortable small tables, print button.
   No library, no request: data comes from the JSON block of the page. Written as ES5 for the older
   Chromium-based browsers of office intranets. Data never goes through innerHTML: text is set with
   textContent, and a URL becomes a link only when it is http(s). */
(function () {
  "use strict";

  var HTTP = /^https?:\/\/[^\s]+$/i;
  var PAGE_SIZE = 100;

  function $(id) { return document.getElementById(id); }

  function fill(template, params) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : all;
    });
  }

  function fmtNum(v) {
    if (v === null || v === undefined) { return "\u2014"; }
    var neg = v < 0, s = String(Math.abs(v)).split(".");
    s[0] = s[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (neg ? "-" : "") + s.join(".");
  }

  function link(text, url) {
    if (typeof url === "string" && HTTP.test(url)) {
      var a = document.createElement("a");
      a.href = url;
      a.rel = "noopener noreferrer";
      a.target = "_blank";
      a.textContent = text;
      return a;
    }
    return document.createTextNode(text);
  }

  /* ---------------------------------------------------------------- small server-rendered tables */

  function cellKey(td) {
    var v = td.getAttribute("data-v");
    if (v === null) { v = td.textContent.replace(/^\s+|\s+$/g, ""); }
    var n = parseFloat(v.replace(/,/g, "").replace(/%$/, ""));
    return isNaN(n) || !/^-?[\d,.]+%?$/.test(v) ? { s: v, n: null } : { s: v, n: n };
  }

  function sortableTable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    for (var i = 0; i < heads.length; i++) {
      (function (col, th) {
        th.addEventListener("click", function () {
          var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
          for (var k = 0; k < heads.length; k++) { heads[k].removeAttribute("aria-sort"); }
          th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
          var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
          var keyed = rows.map(function (r, idx) { return { r: r, k: r.cells[col] ? cellKey(r.cells[col]) : { s: "", n: null }, i: idx }; });
          keyed.sort(function (a, b) {
            var x = a.k, y = b.k, c;
            if (x.n !== null && y.n !== null) { c = x.n - y.n; }
            else if (x.n !== null) { return -1; } else if (y.n !== null) { return 1; }
            else { c = x.s < y.s ? -1 : x.s > y.s ? 1 : 0; }
            return c * dir || a.i - b.i;
          });
          var frag = document.createDocumentFragment();
          keyed.forEach(function (e) { frag.appendChild(e.r); });
          body.appendChild(frag);
        });
      })(i, heads[i]);
    }
  }

  /* ---------------------------------------------------------------- the accounts table */

  // The data comes column by column (smaller, and cheaper to write); the table reads it row by row.
  function rowsOf(columns) {
    var n = columns.length ? columns[0].length : 0, rows = new Array(n);
    for (var i = 0; i < n; i++) {
      var r = new Array(columns.length);
      for (var c = 0; c < columns.length; c++) { r[c] = columns[c][i]; }
      rows[i] = r;
    }
    return rows;
  }

  function AccountsTable(D) {
    D.rows = rowsOf(D.columns);
    var L = D.labels;
    var C = {UNIT: 0, PLATFORM: 1, NAME: 2, PID: 3, STATUS: 4, PREV: 5, LAST: 6, SILENT: 7, POSTS: 8,
             ORIG: 9, MEDIAN: 10, FOLLOWERS: 11, INDEX: 12, BASIS: 13, RULE: 14, URL: 15};
    var flaggedSet = {};
    D.flagged.forEach(function (s) { flaggedSet[s] = true; });
    var cols = [
      {key: "unit", label: L.col.unit, val: function (r) { return D.units[r[C.UNIT]]; }},
      {key: "platform", label: L.col.platform, val: function (r) { return L.platform[D.platforms[r[C.PLATFORM]]]; }},
      {key: "account", label: L.col.account, val: function (r) { return r[C.NAME]; }},
      {key: "status", label: L.col.status, val: function (r) { return r[C.STATUS]; }, num: true, text: true},
      {key: "prev", label: L.col.prev_status, val: function (r) { return r[C.PREV] < 0 ? null : r[C.PREV]; }, num: true,
       text: true},
      {key: "last", label: L.col.last_post, val: function (r) { return r[C.LAST]; }},
      {key: "silent", label: L.col.days_silent, val: function (r) { return r[C.SILENT]; }, num: true},
      {key: "posts", label: L.col.posts, val: function (r) { return r[C.POSTS]; }, num: true},
      {key: "originals", label: L.col.originals, val: function (r) { return r[C.ORIG]; }, num: true},
      {key: "median", label: L.col.median, val: function (r) { return r[C.MEDIAN]; }, num: true},
      {key: "followers", label: L.col.followers, val: function (r) { return r[C.FOLLOWERS]; }, num: true},
      {key: "index", label: L.col.index, val: function (r) { return r[C.INDEX]; }, num: true},
      {key: "rule", label: L.col.rule, val: function (r) { return D.rules[r[C.RULE]]; }}
    ];
    var colByKey = {};
    cols.forEach(function (c) { colByKey[c.key] = c; });

    var state = defaults();
    var view = [];
    var haystack = null;
    var lastHash = null;

    function defaults() { return {platform: "", status: "", unit: "", q: "", changed: false, sort: "", dir: "asc", page: 1}; }

    function profile(r) {
      var p = D.platforms[r[C.PLATFORM]], id = String(r[C.PID]);
      var tpl = D.profiles[p === "toutiao" && /^\d+$/.test(id) ? "toutiao_numeric" : p];
      return tpl ? tpl.replace("{id}", encodeURIComponent(id)) : null;
    }

    /* -- state <-> address: #accounts?platform=weibo&status=zombie&unit=...&q=...&sort=silent&dir=desc&page=2 */
    function readHash() {
      var h = location.hash, s = defaults(), i = h.indexOf("?");
      if (h.indexOf("#accounts") !== 0 || i < 0) { return null; }
      h.slice(i + 1).split("&").forEach(function (pair) {
        var eq = pair.indexOf("="), k, v;
        if (eq < 0) { return; }
        k = pair.slice(0, eq);
        try { v = decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, " ")); } catch (e) { return; }
        if (k === "changed") { s.changed = v === "1"; }
        else if (k === "page") { s.page = Math.max(1, parseInt(v, 10) || 1); }
        else if (k === "dir") { s.dir = v === "desc" ? "desc" : "asc"; }
        else if (Object.prototype.hasOwnProperty.call(s, k)) { s[k] = v; }
      });
      return s;
    }

    function writeHash() {
      var parts = [], d = defaults();
      ["platform", "status", "unit", "q", "sort", "dir", "page"].forEach(function (k) {
        if (state[k] !== d[k] && state[k] !== "") { parts.push(k + "=" + encodeURIComponent(state[k])); }
      });
      if (state.changed) { parts.push("changed=1"); }
      var h = parts.length ? "#accounts?" + parts.join("&") : "";
      if (h === lastHash) { return; }
      lastHash = h;
      var url = location.href.split("#")[0] + h;
      try { history.replaceState(null, "", url); } catch (e) { location.hash = h; }
    }

    /* -- controls */
    function option(select, value, text) {
      var o = document.createElement("option");
      o.value = value;
      o.textContent = text;
      select.appendChild(o);
    }

    function buildControls() {
      var fp = $("f-platform"), fs = $("f-status"), fu = $("f-unit");
      option(fp, "", L.table.all);
      D.platforms.forEach(function (p) { option(fp, p, L.platform[p]); });
      option(fs, "", L.table.all);
      option(fs, "flagged", L.table.flagged_all);
      D.statuses.forEach(function (s) { option(fs, s, L.status[s]); });
      option(fu, "", L.table.all);
      D.tops.forEach(function (u) { option(fu, u, u); });
      fp.addEventListener("change", function () { set({platform: fp.value}); });
      fs.addEventListener("change", function () { set({status: fs.value}); });
      fu.addEventListener("change", function () { set({unit: fu.value}); });
      var timer = null;
      $("f-q").addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { set({q: $("f-q").value}); }, 150);
      });
      $("f-changed").addEventListener("change", function () { set({changed: $("f-changed").checked}); });
      $("f-reset").addEventListener("click", function () { state = defaults(); apply(); });
      $("p-prev").addEventListener("click", function () { set({page: state.page - 1}, true); });
      $("p-next").addEventListener("click", function () { set({page: state.page + 1}, true); });
      $("acct-controls").hidden = false;
      $("acct-pager").hidden = false;
    }

    function syncControls() {
      $("f-platform").value = state.platform;
      $("f-status").value = state.status;
      $("f-unit").value = state.unit;
      if ($("f-q").value !== state.q) { $("f-q").value = state.q; }
      $("f-changed").checked = state.changed;
    }

    function set(change, keepPage) {
      for (var k in change) { if (Object.prototype.hasOwnProperty.call(change, k)) { state[k] = change[k]; } }
      if (!keepPage) { state.page = 1; }
      apply();
    }

    /* -- filter, sort, page */
    function lower(list) { return list.map(function (x) { return String(x).toLowerCase(); }); }

    function buildHaystack() {
      haystack = {rows: D.rows.map(function (r) { return (r[C.NAME] + "\n" + r[C.PID]).toLowerCase(); }),
                  units: lower(D.units), rules: lower(D.rules)};
    }

    /* Which units and rules contain the text: looked at once per search, not once per row. */
    function matching(list, q) { return list.map(function (x) { return x.indexOf(q) >= 0; }); }

    /* Row order for a sort: computed once per column and direction, then every filter walks it. */
    var orders = {};
    function order() {
      var col = colByKey[state.sort];
      if (!col) { return null; }
      var key = state.sort + ":" + state.dir;
      if (!orders[key]) {
        var rows = D.rows, dir = state.dir === "desc" ? -1 : 1, keys = new Array(rows.length), idx = new Array(rows.length);
        for (var i = 0; i < rows.length; i++) { keys[i] = col.val(rows[i]); idx[i] = i; }
        idx.sort(function (a, b) {
          var x = keys[a], y = keys[b];
          if (x === null || x === undefined) { return y === null || y === undefined ? a - b : 1; }
          if (y === null || y === undefined) { return -1; }
          var c = col.num ? x - y : (x < y ? -1 : x > y ? 1 : 0);
          return c * dir || a - b;
        });
        orders[key] = idx;
      }
      return orders[key];
    }

    function compute() {
      var pIdx = D.platforms.indexOf(state.platform), sIdx = D.statuses.indexOf(state.status);
      var uIdx = D.tops.indexOf(state.unit), q = state.q.replace(/^\s+|\s+$/g, "").toLowerCase();
      if (q && !haystack) { buildHaystack(); }
      var unitHit = q ? matching(haystack.units, q) : null, ruleHit = q ? matching(haystack.rules, q) : null;
      var out = [], rows = D.rows, sorted = order(), n = rows.length;
      for (var k = 0; k < n; k++) {
        var i = sorted ? sorted[k] : k, r = rows[i];
        if (state.platform && r[C.PLATFORM] !== pIdx) { continue; }
        if (state.status === "flagged") { if (!flaggedSet[r[C.STATUS]]) { continue; } }
        else if (state.status && r[C.STATUS] !== sIdx) { continue; }
        if (state.unit && D.unitTop[r[C.UNIT]] !== uIdx) { continue; }
        if (state.changed && r[C.PREV] === r[C.STATUS]) { continue; }
        if (q && !unitHit[r[C.UNIT]] && !ruleHit[r[C.RULE]] && haystack.rows[i].indexOf(q) < 0) { continue; }
        out.push(i);
      }
      view = out;
    }

    function td(tr, content, cls) {
      var cell = document.createElement("td");
      if (cls) { cell.className = cls; }
      if (content !== null && typeof content === "object") { cell.appendChild(content); }
      else { cell.textContent = content === null || content === undefined ? "\u2014" : content; }
      tr.appendChild(cell);
      return cell;
    }

    function badge(sIdx) {
      var s = D.statuses[sIdx], span = document.createElement("span");
      if (s === undefined) { return document.createTextNode("\u2014"); }
      span.className = "badge st-" + s;
      span.textContent = L.status[s];
      return span;
    }

    function renderHead() {
      var tr = document.createElement("tr");
      cols.forEach(function (c) {
        var th = document.createElement("th");
        th.textContent = c.label;
        th.setAttribute("data-key", c.key);
        if (c.num && !c.text) { th.className = "n"; }  // numbers right-aligned; verdicts sort by code
        th.addEventListener("click", function () {
          var dir = state.sort === c.key && state.dir === "asc" ? "desc" : "asc";
          set({sort: c.key, dir: dir});
        });
        tr.appendChild(th);
      });
      $("acct-table").tHead.appendChild(tr);
    }

    function renderBody() {
      var pages = Math.max(1, Math.ceil(view.length / PAGE_SIZE));
      if (state.page > pages) { state.page = pages; }
      var start = (state.page - 1) * PAGE_SIZE, end = Math.min(view.length, start + PAGE_SIZE);
      var tbody = document.createElement("tbody");
      for (var k = start; k < end; k++) {
        var r = D.rows[view[k]], tr = document.createElement("tr");
        tr.setAttribute("data-row", view[k]);
        td(tr, D.units[r[C.UNIT]], "unit");
        td(tr, L.platform[D.platforms[r[C.PLATFORM]]], "t");
        var acc = document.createElement("span");
        acc.appendChild(link(r[C.NAME], profile(r)));
        var pid = document.createElement("div");
        pid.className = "note";
        pid.textContent = r[C.PID];
        acc.appendChild(pid);
        td(tr, acc);
        td(tr, badge(r[C.STATUS]));
        td(tr, r[C.PREV] < 0 ? null : badge(r[C.PREV]));
        td(tr, r[C.LAST] ? link(r[C.LAST], r[C.URL]) : null, "t");
        td(tr, fmtNum(r[C.SILENT]), "n");
        td(tr, fmtNum(r[C.POSTS]), "n");
        td(tr, fmtNum(r[C.ORIG]), "n");
        td(tr, fmtNum(r[C.MEDIAN]), "n");
        td(tr, fmtNum(r[C.FOLLOWERS]), "n");
        td(tr, r[C.INDEX] === null ? null : fmtNum(r[C.INDEX]) + (r[C.BASIS] ? "*" : ""), "n");
        td(tr, D.rules[r[C.RULE]] || null, "wrap");
        tbody.appendChild(tr);
      }
      if (!view.length) {
        var empty = document.createElement("tr");
        td(empty, L.table.no_rows).colSpan = cols.length;
        tbody.appendChild(empty);
      }
      var table = $("acct-table");
      table.replaceChild(tbody, table.tBodies[0]);
      var ths = table.tHead.rows[0].cells;
      for (var i = 0; i < ths.length; i++) {
        var key = ths[i].getAttribute("data-key");
        if (key === state.sort) { ths[i].setAttribute("aria-sort", state.dir === "desc" ? "descending" : "ascending"); }
        else { ths[i].removeAttribute("aria-sort"); }
      }
      $("acct-count").textContent = fill(L.table.shown, {shown: fmtNum(view.length), total: fmtNum(D.rows.length)});
      $("p-info").textContent = fill(L.table.page, {page: state.page, pages: pages});
      $("p-prev").disabled = state.page <= 1;
      $("p-next").disabled = state.page >= pages;
    }

    function apply() {
      compute();
      renderBody();
      syncControls();
      writeHash();
    }

    this.start = function () {
      buildControls();
      renderHead();
      var fromHash = readHash();
      if (fromHash) { state = fromHash; }
      apply();
      if (fromHash) { $("accounts").scrollIntoView(); }
      window.addEventListener("hashchange", function () {
        var s = readHash();
        if (s && location.hash !== lastHash) { state = s; lastHash = null; apply(); $("accounts").scrollIntoView(); }
      });
    };
  }

  /* ---------------------------------------------------------------- start */

  function start() {
    var tables = document.querySelectorAll("table.sortable");
    for (var i = 0; i < tables.length; i++) { sortableTable(tables[i]); }
    var btn = $("print-btn");
    if (btn) { btn.hidden = false; btn.addEventListener("click", function () { window.print(); }); }
    // Contents links scroll without replacing the address, which keeps the table's filter shareable.
    var toc = document.querySelectorAll("nav.toc a");
    for (var k = 0; k < toc.length; k++) {
      toc[k].addEventListener("click", function (ev) {
        var target = $(this.getAttribute("href").slice(1));
        if (target) { ev.preventDefault(); target.scrollIntoView(); }
      });
    }
    var dataEl = $("table-data");
    if (dataEl) { new AccountsTable(JSON.parse(dataEl.textContent)).start(); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
