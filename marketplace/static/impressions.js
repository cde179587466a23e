// Posts the need page's receipt of the packages it recommended (a hidden form with the CSRF
// token), so the recommender learns what the owner was shown. The GET that rendered the page
// writes nothing: a link from another site cannot record impressions.
(function () {
  "use strict";
  var form = document.querySelector("form[data-impressions]");
  if (!form || !window.fetch) {
    return;
  }
  window.fetch(form.action, {
    method: "POST",
    body: new URLSearchParams(new FormData(form)),
    credentials: "same-origin",
    keepalive: true
  }).catch(function () {});  // a lost impression is not worth an error
})();
