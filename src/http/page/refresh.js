(function () {
  var main = document.querySelector("main"), every = +document.body.dataset.refresh;
  if (!main || !every) return;
  setInterval(function () {
    if (document.hidden) return;
    var url = new URL(location.href);
    url.searchParams.set("fragment", "1");
    fetch(url, { cache: "no-store" })
      .then(function (r) { if (!r.ok) throw r.status; return r.text(); })
      .then(function (html) { main.innerHTML = html; document.body.classList.remove("stale"); })
      .catch(function () { document.body.classList.add("stale"); });
  }, every * 1000);
})();
