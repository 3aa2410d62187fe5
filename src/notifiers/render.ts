/** Event payloads as text: Slack messages and e-mail bodies (plain text and HTML) say the same. */
import type { EventPayload } from '../core/notifications/model.ts';

export function subjectOf(payload: EventPayload): string {
  return `${payload.test ? '[certkeeper test] ' : '[certkeeper] '}${payload.summary}`
    .replace(/[\r\n]+/g, ' ')
    .slice(0, 250);
}

/** `label: value` lines, in a fixed order. */
export function factsOf(payload: EventPayload): Array<[string, string]> {
  const facts: Array<[string, string]> = [
    ['Event', payload.type],
    ['Tenant', payload.tenant.name],
  ];
  const c = payload.certificate;
  if (c) {
    facts.push(['Certificate', `${c.name} (no. ${c.certificateNo})`]);
    facts.push(['Domains', c.domains.join(', ') || '(none)']);
    facts.push(['Expires', `${c.notAfter} (${c.daysLeft} day${c.daysLeft === 1 ? '' : 's'} left)`]);
  }
  if (payload.thresholdDays !== undefined) facts.push(['Threshold', `${payload.thresholdDays} days`]);
  if (payload.failures !== undefined) facts.push(['Failures in a row', String(payload.failures)]);
  const d = payload.deployment;
  if (d) {
    facts.push(['Deployment', `edge slot ${d.slotId} (generation ${d.generation}), ${d.operation}`]);
    facts.push([
      'Target',
      d.target === null
        ? 'none configured'
        : d.target.kind === 'directory'
          ? `directory ${d.target.path}`
          : `webhook ${d.target.host}`,
    ]);
    if (d.failedAt) facts.push(['Failed at', d.failedAt === 'deploy-target' ? 'the deploy target' : 'the edge slot']);
  }
  if (payload.error) facts.push(['Error', payload.error]);
  facts.push(['Console', payload.link]);
  return facts;
}

export function textOf(payload: EventPayload): string {
  return [payload.summary, '', ...factsOf(payload).map(([k, v]) => `${k}: ${v}`), ''].join('\n');
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

export function htmlOf(payload: EventPayload): string {
  const rows = factsOf(payload)
    .map(([k, v]) =>
      k === 'Console'
        ? `<tr><th align="left">${escapeHtml(k)}</th><td><a href="${escapeHtml(v)}">${escapeHtml(v)}</a></td></tr>`
        : `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>\n<html><body>\n<p>${escapeHtml(payload.summary)}</p>\n<table>\n${rows}\n</table>\n</body></html>\n`;
}
