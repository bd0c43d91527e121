/* wangge page shell: the phone menu, the lazy place tree, demo-account buttons.
 * Plain ES5-level JavaScript for old phone browsers; htmx does the server round trips. */
(function () {
  "use strict";

  var PHONE = "(max-width: 767px)";

  function closest(el, selector) {
    while (el && el.nodeType === 1) {
      if (el.matches(selector)) return el;
      el = el.parentElement;
    }
    return null;
  }

  function setMenu(toggle, open) {
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (menu) menu.classList.toggle("is-open", open);
  }

  function toggleTree(button) {
    var list = document.getElementById(button.getAttribute("aria-controls"));
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (list) list.hidden = !open;
  }

  function fillDemoAccount(button) {
    var user = document.getElementById("id_username");
    var password = document.getElementById("id_password");
    if (!user || !password) return;
    user.value = button.getAttribute("data-username") || "";
    password.value = button.getAttribute("data-password") || "";
    password.focus();
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    var menuToggle = closest(target, ".wg-menu-toggle");
    if (menuToggle) {
      setMenu(menuToggle, menuToggle.getAttribute("aria-expanded") !== "true");
      return;
    }
    var treeToggle = closest(target, ".wg-tree-toggle");
    if (treeToggle) {
      toggleTree(treeToggle);
      return;
    }
    var demo = closest(target, ".wg-demo-account");
    if (demo) fillDemoAccount(demo);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var toggle = document.querySelector(".wg-menu-toggle[aria-expanded='true']");
    if (toggle) {
      setMenu(toggle, false);
      toggle.focus();
    }
  });

  // A tree branch that fails to load says so instead of staying empty.
  document.addEventListener("htmx:responseError", function (event) {
    var source = event.detail && event.detail.elt;
    if (!source || !source.classList.contains("wg-tree-toggle")) return;
    var list = document.getElementById(source.getAttribute("aria-controls"));
    var tree = closest(source, ".wg-tree");
    if (!list) return;
    var item = document.createElement("li");
    item.className = "wg-tree-error";
    item.textContent = (tree && tree.getAttribute("data-error")) || "Error";
    list.innerHTML = "";
    list.appendChild(item);
  });

  function onReady() {
    // On a phone the tree starts folded so the place itself comes first.
    if (window.matchMedia && window.matchMedia(PHONE).matches) {
      var panels = document.querySelectorAll("details[data-collapse-on-phone]");
      for (var i = 0; i < panels.length; i++) panels[i].removeAttribute("open");
    }
    var current = document.querySelector(".wg-tree-node.is-current > .wg-tree-row");
    if (current && current.scrollIntoView && !(window.matchMedia && window.matchMedia(PHONE).matches)) {
      current.scrollIntoView({ block: "nearest" });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", onReady);
  else onReady();
})();
