/* The card is live, not a screenshot: a running clock (Japan time) and a mark
   that keeps moving. Without this script the card shows the server's time. */
(function () {
  "use strict";
  var clock = document.getElementById("card-clock");
  var mark = document.getElementById("card-live-mark");
  if (!clock) return;
  // Japan has no daylight saving time: JST is UTC+9 all year. (Plain arithmetic
  // instead of Intl, whose time-zone data costs a long task on slow phones.)
  var JST_OFFSET_MS = 9 * 3600 * 1000;

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var now = new Date();
    var j = new Date(now.getTime() + JST_OFFSET_MS);
    clock.textContent = j.getUTCFullYear() + "年" + (j.getUTCMonth() + 1) + "月" + j.getUTCDate() + "日 " +
      two(j.getUTCHours()) + ":" + two(j.getUTCMinutes()) + ":" + two(j.getUTCSeconds());
    clock.setAttribute("datetime", now.toISOString());
    setTimeout(tick, 1000 - (now.getTime() % 1000) + 5);
  }
  tick();

  if (!mark || !mark.animate) return;
  var reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  // Back and forth across the band, on the compositor (Web Animations, allowed
  // by the CSP). The slider is as wide as the band and the mark 4rem wide, so
  // calc() needs no measuring (no forced layout while the page loads).
  mark.parentNode.animate(
    [{ transform: "translateX(0)" }, { transform: "translateX(calc(100% - 4rem))" }],
    {
      duration: reduced ? 8000 : 2400,
      iterations: Infinity,
      direction: "alternate",
      easing: reduced ? "steps(8)" : "ease-in-out"
    }
  );
})();
