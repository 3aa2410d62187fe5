/**
 * Saving files. Plain downloads are links the browser follows (the server answers with
 * Content-Disposition: attachment). A download that needs the CSRF token (the private key) is
 * fetched, then saved from a short-lived object URL.
 */

/** The file name of a Content-Disposition header, or the fallback. @param {string | null} header @param {string} fallback */
export function fileNameOf(header, fallback) {
  return (header ? /filename="([^"]+)"/.exec(header)?.[1] : undefined) ?? fallback;
}

/** @param {Blob} blob @param {string} fileName */
export function saveBlob(blob, fileName) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.hidden = true;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
