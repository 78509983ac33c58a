// Modal dialogs that keep the keyboard: opened with the focus on the field to fill (not left
// wherever the browser puts it), Tab and Shift+Tab going round inside the dialog instead of
// escaping to the page behind it or the browser's own controls, and Escape closing it (the
// native <dialog>'s cancel, which every dialog here turns into its Cancel).

const FOCUSABLE = [
  'button:not([disabled])',
  'input:not([disabled]):not([type="hidden"])',
  'select:not([disabled])',
  'textarea:not([disabled])',
  'a[href]',
  '[tabindex]:not([tabindex="-1"])',
].join(',');

/** What Tab can reach inside `root`, in order (hidden elements left out). */
export function focusables(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.getClientRects().length > 0);
}

/** Where Tab goes from position `at` of `count` stops: round the ends, never out. */
export function nextStop(at: number, count: number, back: boolean): number {
  if (count === 0) return -1;
  if (at < 0) return back ? count - 1 : 0;
  return (at + (back ? count - 1 : 1)) % count;
}

/** Gives `el` the keyboard once the browser has drawn it (a new step of a dialog, say). */
export function focusSoon(el: () => HTMLElement | null | undefined): void {
  requestAnimationFrame(() => el()?.focus());
}

/**
 * `use:modal={first}`: shows the dialog as a modal, focuses `first()` (else its first
 * control) and keeps Tab inside it.
 */
export function modal(dialog: HTMLDialogElement, first?: () => HTMLElement | null | undefined) {
  if (!dialog.open) dialog.showModal();
  (first?.() ?? focusables(dialog)[0])?.focus();
  const onkeydown = (e: KeyboardEvent) => {
    if (e.key !== 'Tab') return;
    const stops = focusables(dialog);
    const at = stops.indexOf(document.activeElement as HTMLElement);
    // Inside the list, the browser's own order is right except at its two ends.
    const atEnd = e.shiftKey ? at === 0 : at === stops.length - 1;
    if (at >= 0 && !atEnd) return;
    e.preventDefault();
    stops[nextStop(at, stops.length, e.shiftKey)]?.focus();
  };
  dialog.addEventListener('keydown', onkeydown);
  return {
    destroy() {
      dialog.removeEventListener('keydown', onkeydown);
    },
  };
}
