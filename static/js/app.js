// Small helpers on top of htmx. Everything works without this file; it only adds feedback.
document.addEventListener("htmx:responseError", (event) => {
  const page = document.querySelector("main.page");
  if (!page) return;
  let flash = page.querySelector("ul.flash");
  if (!flash) {
    flash = document.createElement("ul");
    flash.className = "flash";
    flash.setAttribute("role", "status");
    page.prepend(flash);
  }
  const item = document.createElement("li");
  item.className = "flash-error";
  item.textContent = document.body.dataset.requestFailed || "Request failed";
  flash.append(item);
});
