// The path from the nation down to what is shown, as breadcrumb items {label, href, current}.

import { nameOf } from "./names.js";
import { ancestorCodes, hashFor } from "./routes.js";

export function regionCrumbs(code, asOf, lastIsCurrent) {
  return ancestorCodes(code).map((ancestor) => ({
    label: nameOf(ancestor),
    href: hashFor("region", ancestor, asOf),
    current: lastIsCurrent && ancestor === code,
  }));
}
