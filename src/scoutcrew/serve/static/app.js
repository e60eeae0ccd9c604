// scoutcrew: live progress of a run through server-sent events. No inline script anywhere.
"use strict";
(function () {
  var state = document.getElementById("run-state");
  if (!state || !window.EventSource) { return; }
  var log = document.getElementById("run-log");
  var links = document.getElementById("run-links");
  log.textContent = "";
  var source = new EventSource(state.getAttribute("data-events"));
  source.addEventListener("line", function (event) {
    var data = JSON.parse(event.data);
    log.appendChild(document.createTextNode(data.text + "\n"));
    log.scrollTop = log.scrollHeight;
  });
  source.addEventListener("done", function (event) {
    source.close();
    var data = JSON.parse(event.data);
    state.textContent = data.status;
    state.className = "status status-" + data.status;
    state.setAttribute("data-finished", "1");
    links.textContent = "";
    function link(href, text, id) {
      var a = document.createElement("a");
      a.href = href; a.textContent = text; a.id = id;
      links.appendChild(a); links.appendChild(document.createTextNode(" "));
    }
    if (data.report_url) { link(data.report_url, "Open the report", "report-link"); }
    if (data.run_url) { link(data.run_url, "Run details", "run-link"); }
    if (data.error) {
      var p = document.createElement("p");
      p.className = "error"; p.textContent = data.error;
      links.appendChild(p);
    }
  });
  source.onerror = function () {
    if (state.getAttribute("data-finished") !== "1") { state.textContent = "connection lost; reload"; }
    source.close();
  };
})();
