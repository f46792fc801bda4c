/**
 * Saves text as a file the browser downloads: a Blob URL clicked through a temporary link (the
 * Custom UI iframe allows downloads; there is no file system API). The text is written exactly
 * as given (UTF-8), so a signed file stays byte for byte what the server produced.
 */
export function saveText(fileName: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // The download has started by now; free the memory a little later.
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
