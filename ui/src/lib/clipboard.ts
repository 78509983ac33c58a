// Putting text on the clipboard from the window: the webview's asynchronous clipboard API,
// and where it is missing or refused (an older WebKitGTK, no permission) the older copy
// command on a hidden text field. No plugin, no IPC: the text never leaves the window.

/** Copies `text`; answers whether the clipboard took it. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Refused: try the older way below.
  }
  const field = document.createElement('textarea');
  field.value = text;
  field.setAttribute('readonly', '');
  field.style.position = 'fixed';
  field.style.opacity = '0';
  document.body.appendChild(field);
  field.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  } finally {
    field.remove();
  }
}
