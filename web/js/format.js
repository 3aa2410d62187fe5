/** How values read on screen: dates in the user's locale and time zone, statuses and audit events in words. */
import { h } from './dom.js';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/** @param {string | null | undefined} iso */
export const formatDateTime = (iso) => (iso ? dateTime.format(new Date(iso)) : '—');
/** @param {string | null | undefined} iso */
export const formatDate = (iso) => (iso ? dateOnly.format(new Date(iso)) : '—');

const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const DAY_MS = 86_400_000;

/**
 * Calendar days from `now` to `then` in the viewer's time zone: the difference of their local
 * dates (Dec 5 23:00 to Dec 6 01:00 is one day), not of 24-hour periods. Each local date is
 * taken as a UTC midnight, so a daylight-saving day of 23 or 25 hours still counts as one.
 * @param {Date} then @param {Date} now
 */
export function calendarDays(then, now) {
  const midnight = (/** @type {Date} */ d) => Date.UTC(d.getFullYear(), d.getMonth(), d.getDate());
  return Math.round((midnight(then) - midnight(now)) / DAY_MS);
}

/**
 * How far away an expiry is, in calendar days of the viewer's time zone (as the dates beside it
 * are shown): "in 12 days", "expires tomorrow at 09:00", "expired 3 days ago". Under two days
 * before the end, the time of day is given too.
 * @param {string} notAfter ISO 8601 @param {Date} [now]
 */
export function formatExpiry(notAfter, now = new Date()) {
  const end = new Date(notAfter);
  const days = calendarDays(end, now);
  const left = end.getTime() - now.getTime();
  if (left < 0) {
    if (days === 0) return `expired today at ${timeOnly.format(end)}`;
    if (days === -1) return `expired yesterday at ${timeOnly.format(end)}`;
    return `expired ${(-days).toLocaleString()} days ago`;
  }
  if (left < 2 * DAY_MS) {
    const at = timeOnly.format(end);
    if (days === 0) return `expires today at ${at}`;
    if (days === 1) return `expires tomorrow at ${at}`;
    return `in ${days} days, at ${at}`;
  }
  return `in ${days.toLocaleString()} days`;
}

/**
 * Soon-to-expire warning level, from the calendar days formatExpiry counts.
 * @param {string} notAfter ISO 8601 @param {Date} [now]
 */
export function urgency(notAfter, now = new Date()) {
  if (new Date(notAfter).getTime() < now.getTime()) return 'expired';
  const days = calendarDays(new Date(notAfter), now);
  return days <= 7 ? 'critical' : days <= 30 ? 'warning' : 'ok';
}

/** The expiry in words, coloured by urgency (never colour alone: the words say it). @param {string} notAfter */
export const expiryText = (notAfter) =>
  h('span', { class: `days days-${urgency(notAfter)}`, text: formatExpiry(notAfter) });

export const STATUS_LABELS = /** @type {Record<string, string>} */ ({
  VALID: 'Valid',
  EXPIRED: 'Expired',
  NOT_YET_VALID: 'Not yet valid',
  REVOKED: 'Revoked',
  DELETED: 'Deleted',
});

/** A status badge: colour and word, never colour alone. @param {string} status */
export function statusBadge(status) {
  const badge = document.createElement('span');
  badge.className = `badge badge-${status.toLowerCase().replace(/_/g, '-')}`;
  badge.textContent = STATUS_LABELS[status] ?? status;
  return badge;
}

/** Audit actions in words. */
const ACTIONS = /** @type {Record<string, string>} */ ({
  'certificate.import': 'Certificate imported',
  'certificate.replace': 'Certificate replaced',
  'certificate.delete': 'Certificate deleted',
  'certificate.restore': 'Certificate restored',
  'certificate.purge': 'Certificate purged',
  'certificate.key.read': 'Private key downloaded',
  'certificate.file.read': 'Certificate file downloaded',
  'credential.create': 'Access key created',
  'credential.revoke': 'Access key revoked',
  'token.issue': 'API token issued',
  'console.login': 'Logged in to the console',
  'console.logout': 'Logged out of the console',
  'edge.slot.provision': 'Edge slot provisioned',
  'edge.slot.replace': 'Edge slot given another certificate',
  'edge.slot.tls': 'Edge slot TLS settings changed',
  'edge.slot.delete': 'Edge slot deleted',
  'edge.slot.republish': 'Edge slots republished',
  'deploy-target.set': 'Deployment target set',
  'deploy-target.clear': 'Deployment target removed',
});

/** The first few domains, and how many more there are. @param {string[]} domains */
export const domainsText = (domains) =>
  domains.slice(0, 3).join(', ') + (domains.length > 3 ? ` +${domains.length - 3} more` : '');

/**
 * An audit event in words. @param {{ action: string, actor: string, detail: Record<string, unknown> }} event
 */
export function actionText(event) {
  if (event.action === 'certificate.key.read' && event.detail.purpose === 'edge.publish')
    return `Private key read to publish it to edge slot ${event.detail.slotId}`;
  if (event.action === 'certificate.key.read' && typeof event.detail.version === 'number')
    return `Private key of version ${event.detail.version} downloaded`;
  return ACTIONS[event.action] ?? event.action;
}

/** Where an audit target lives in the console, or null. @param {string} target */
export function targetHref(target) {
  const certificate = /^certificate:(\d+)$/.exec(target);
  if (certificate) return `#/certificates/${certificate[1]}`;
  const slot = /^edge-slot:(\d+)$/.exec(target);
  if (slot) return `#/edge/${slot[1]}`;
  // An import is recorded under the name it asked for (it had no number yet): the list finds it.
  const named = /^certificate-name:(.+)$/.exec(target);
  return named ? `#/certificates?name=${encodeURIComponent(named[1] ?? '')}` : null;
}

/** An audit target in words: "certificate #12", "edge slot 3", "certificate mail-0299". @param {string} target */
export function targetText(target) {
  const [kind = '', id = ''] = target.split(/:(.*)/s);
  if (kind === 'certificate') return `certificate #${id}`;
  if (kind === 'edge-slot') return `edge slot ${id}`;
  if (kind === 'certificate-name') return `certificate ${id}`;
  if (kind === 'credential') return `access key ${id}`;
  return target;
}

/**
 * Who did something, for people: the local operator, or an access key's description and role
 * (when the server gave them, see the dashboard's `actors`), else the bare access key.
 * @param {string} actor @param {Record<string, { role: string, description: string, revoked: boolean }>} [labels]
 */
export function actorText(actor, labels = {}) {
  if (actor === 'cli') return 'the command line';
  const label = labels[actor];
  if (!label) return actor;
  return `${label.description || 'access key'} (${label.role}${label.revoked ? ', revoked' : ''}, ${actor})`;
}

/**
 * An audit event as an entry of a timeline (`<ol class="timeline">`): when, what (a refusal
 * marked as such), and who with whatever the page adds.
 * @param {import('./api.js').AuditEvent} event @param {...unknown} who
 */
export const timelineEntry = (event, ...who) =>
  h(
    'li',
    { class: event.result === 'failure' ? 'timeline-failure' : '' },
    h('time', { datetime: event.at, text: formatDateTime(event.at) }),
    h(
      'span',
      { class: 'timeline-what' },
      actionText(event),
      event.result === 'failure' ? h('span', { class: 'badge badge-expired', text: 'refused' }) : null,
    ),
    h('span', { class: 'timeline-who muted' }, ...who),
  );
