// The studio's only script: live progress of sends. Every page works without it.
"use strict";
(function () {
  function poll(box) {
    var url = box.getAttribute("data-progress");
    var bar = box.querySelector("progress");
    var text = box.querySelector("[data-progress-text]");
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (answer) { return answer.ok ? answer.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          bar.max = Math.max(data.recipients, 1);
          bar.value = data.handled;
          text.textContent = text.textContent.replace(/\d+(\D+)\d+/, data.handled + "$1" + data.recipients);
          if (data.status === "running") { window.setTimeout(tick, 2000); }
        })
        .catch(function () { window.setTimeout(tick, 5000); });
    }
    tick();
  }
  document.addEventListener("DOMContentLoaded", function () {
    var boxes = document.querySelectorAll("[data-progress]");
    for (var i = 0; i < boxes.length; i += 1) { poll(boxes[i]); }
  });
}());
