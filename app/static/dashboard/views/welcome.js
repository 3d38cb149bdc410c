// A first visit without a token: what Rekam is, who gives tokens, and a place to enter one.

import { h } from "../dom.js";
import { t } from "../i18n.js";

/** `onToken(value)` is called with the token typed. */
export function render(onToken) {
  const input = h("input", {
    id: "welcome-token", type: "password", autocomplete: "off", "data-testid": "welcome-token",
  });
  const form = h("form", { class: "welcome-form" },
    h("label", { for: "welcome-token" }, t("token")), input,
    h("button", { type: "submit" }, t("save")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onToken(input.value.trim());
  });
  const nodes = [h("section", { class: "panel welcome", "data-testid": "welcome" },
    h("h1", {}, t("welcomeTitle")),
    h("p", {}, t("welcomeWhat")),
    h("p", {}, t("welcomeWho")),
    form)];
  return { crumbs: [], nodes };
}
