// Quick exit: leave at once, without leaving this page in the tab's history; Esc does the same.
(function () {
  function leave(event) {
    if (event) { event.preventDefault(); }
    var link = document.getElementById("quick-exit");
    document.body.innerHTML = "";
    window.location.replace(link ? link.href : "https://www.weather.gov/");
  }
  document.addEventListener("DOMContentLoaded", function () {
    var link = document.getElementById("quick-exit");
    if (link) { link.addEventListener("click", leave); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { leave(event); }
  });
})();
