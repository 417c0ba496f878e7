/// <reference lib="dom" />
/**
 * The banner under the top bar: what went wrong, in words, and what to do.
 * A rate limit counts down and retries by itself.
 */
import { QueryProblem } from "./api";
import { byId, h } from "./dom";
import { formatClock, type Zone } from "./format";

export interface BannerOptions {
  zone: () => Zone;
  /** The key was refused (401): the page goes back to asking for one. */
  unauthorized: () => void;
}

export function createBanner(options: BannerOptions) {
  const banner = byId("banner");
  let countdown: ReturnType<typeof setInterval> | undefined;

  function stopCountdown() {
    if (countdown) clearInterval(countdown);
    countdown = undefined;
  }

  function show(kind: string, title: string, message: string, action?: { label: string; run: () => void }) {
    banner.dataset.kind = kind;
    banner.replaceChildren(
      h("div", { class: "banner-text" }, h("strong", { class: "banner-title" }, title), h("span", { id: "banner-message" }, message)),
      action ? h("button", { type: "button", class: "banner-action", onclick: action.run }, action.label) : "",
    );
    banner.hidden = false;
  }

  function hide() {
    stopCountdown();
    banner.hidden = true;
    banner.replaceChildren();
    delete banner.dataset.kind;
  }

  function rateLimited(seconds: number, retry: () => void) {
    const at = Date.now() + seconds * 1000;
    const tick = () => {
      const left = Math.max(0, Math.ceil((at - Date.now()) / 1000));
      const text = `Too many requests for this key. Retry in ${left} s (at ${formatClock(at, options.zone())}).`;
      const message = banner.dataset.kind === "rate_limited" ? document.getElementById("banner-message") : null;
      if (message) message.textContent = text;
      else show("rate_limited", "Rate limited", text, { label: "Retry now", run: retry });
      if (left === 0) {
        stopCountdown();
        retry();
      }
    };
    hide();
    tick();
    countdown = setInterval(tick, 1000);
  }

  /** Shows a failed request; `retry` repeats it (from the banner's button, or by itself after a rate limit). */
  function problem(error: unknown, retry: () => void) {
    stopCountdown();
    const again = { label: "Retry", run: retry };
    if (!(error instanceof QueryProblem)) {
      show("failed", "Something went wrong", error instanceof Error ? error.message : String(error), again);
      return;
    }
    switch (error.kind) {
      case "unauthorized":
        options.unauthorized();
        show("unauthorized", "Key not accepted", "The server did not accept this API key (401). Check it and connect again.");
        return;
      case "rate_limited":
        rateLimited(error.retryAfterSeconds ?? 5, retry);
        return;
      case "unreachable":
        show("unreachable", "Server unreachable", "The Telemetry Vault server could not be reached. Check that it is running and that you are online.", again);
        return;
      case "unavailable":
        show("unavailable", "Service unavailable", `${error.message}${error.retryAfterSeconds ? ` Retry in ${error.retryAfterSeconds} s.` : ""}`, again);
        return;
      case "invalid":
        show("invalid", "Query rejected", error.message);
        return;
      default:
        show("failed", `Request failed${error.status ? ` (${error.status})` : ""}`, error.message, again);
    }
  }

  return { show, hide, problem };
}

export type Banner = ReturnType<typeof createBanner>;
