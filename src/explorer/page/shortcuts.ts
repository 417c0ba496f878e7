/// <reference lib="dom" />
/**
 * Keyboard shortcuts: `/` search, `j` / `k` next and previous row, `Enter`
 * open it, `Esc` close, `l` live, `?` this list. Letters never fire while
 * the user types in a field or holds a modifier (Ctrl+L is the browser's).
 */

export interface Shortcut {
  keys: string;
  does: string;
}

/** What the help dialog lists, in this order. */
export const SHORTCUTS: Shortcut[] = [
  { keys: "/", does: "Search" },
  { keys: "j", does: "Next event" },
  { keys: "k", does: "Previous event" },
  { keys: "Enter", does: "Open the event" },
  { keys: "Esc", does: "Close" },
  { keys: "l", does: "Live on or off" },
  { keys: "?", does: "These shortcuts" },
];

export interface ShortcutActions {
  search: () => void;
  next: () => void;
  previous: () => void;
  open: () => boolean;
  close: () => void;
  live: () => void;
  help: () => void;
}

function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  // Buttons and radio inputs take no text: j/k still work from them.
  return target instanceof HTMLInputElement && !["button", "checkbox", "radio", "submit", "reset"].includes(target.type);
}

export function installShortcuts(actions: ShortcutActions) {
  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    // A modal dialog has the keyboard: the native dialog closes itself on Escape.
    if (document.querySelector("dialog[open]")) return;
    if (e.key === "Escape") return actions.close();
    if (typing(e.target)) return;
    const run: Record<string, (() => void) | undefined> = {
      "/": actions.search,
      j: actions.next,
      k: actions.previous,
      l: actions.live,
      "?": actions.help,
    };
    const action = Object.hasOwn(run, e.key) ? run[e.key] : undefined;
    if (action) {
      e.preventDefault(); // "/" would otherwise type into the search box it focuses
      action();
    } else if (e.key === "Enter" && actions.open()) e.preventDefault();
  });
}
