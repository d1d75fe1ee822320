// diff.js: a unified diff (git.patch) as lines coloured by kind, each
// line as text.
import { h } from "mlab/dom.js";

export function diffView(text) {
  const lines = text.replace(/\n$/, "").split("\n");
  const kind = (l) =>
    l.startsWith("diff --git") || l.startsWith("index ") || l.startsWith("--- ") || l.startsWith("+++ ") ? "file"
      : l.startsWith("@@") ? "hunk"
        : l.startsWith("+") ? "add"
          : l.startsWith("-") ? "del"
            : "ctx";
  const files = lines.filter((l) => l.startsWith("diff --git")).length;
  const adds = lines.filter((l) => kind(l) === "add").length;
  const dels = lines.filter((l) => kind(l) === "del").length;
  return h("div", { class: "diff" },
    h("p", { class: "muted" }, `${files} file(s), +${adds} −${dels}`),
    h("pre", { class: "diff-body" }, lines.map((l) => h("span", { class: "d-" + kind(l) }, l + "\n"))));
}
