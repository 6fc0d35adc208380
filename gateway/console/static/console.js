// The console's only script (CSP: script-src 'self'; no inline script anywhere).
// The server renders every time in the user's time zone: tell it the browser's, once.
(function () {
  "use strict";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (!zone || document.cookie.split("; ").some(function (c) { return c.indexOf("aeo_console_tz=") === 0; })) {
    return;
  }
  document.cookie = "aeo_console_tz=" + encodeURIComponent(zone) +
    "; path=/; max-age=31536000; secure; samesite=strict";
  if (zone !== "UTC") {
    window.location.reload();
  }
})();
