/* The card is live, not a screenshot: a running clock (Japan time) and a mark
   that keeps moving. Without this script the card shows the server's time. */
(function () {
  "use strict";
  var clock = document.getElementById("card-clock");
  var mark = document.getElementById("card-live-mark");
  if (!clock) return;
  var parts = new Intl.DateTimeFormat("ja-JP", {
    timeZone: "Asia/Tokyo", year: "numeric", month: "numeric", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"
  });

  function tick() {
    var now = new Date();
    var p = {};
    parts.formatToParts(now).forEach(function (part) { p[part.type] = part.value; });
    clock.textContent = p.year + "年" + p.month + "月" + p.day + "日 " + p.hour + ":" + p.minute + ":" + p.second;
    clock.setAttribute("datetime", now.toISOString());
    setTimeout(tick, 1000 - (now.getTime() % 1000) + 5);
  }
  tick();

  if (!mark) return;
  var track = mark.parentNode;
  var reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var PERIOD_MS = 4000;

  // Back and forth across the band; CSSOM styles are allowed by the CSP.
  function move(time) {
    var span = Math.max(track.clientWidth - mark.offsetWidth, 0);
    var phase = (time % PERIOD_MS) / PERIOD_MS;
    var position = phase < 0.5 ? phase * 2 : 2 - phase * 2;
    mark.style.transform = "translateX(" + Math.round(span * position) + "px)";
    if (reduced) {
      setTimeout(function () { move(Date.now()); }, 1000);
    } else {
      requestAnimationFrame(move);
    }
  }
  track.classList.add("is-live");
  move(reduced ? Date.now() : performance.now());
})();
