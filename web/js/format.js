/** How values read on screen: dates in the user's locale and time zone, statuses and audit events in words. */
import { h } from './dom.js';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/** @param {string | null | undefined} iso */
export const formatDateTime = (iso) => (iso ? dateTime.format(new Date(iso)) : '—');
/** @param {string | null | undefined} iso */
export const formatDate = (iso) => (iso ? dateOnly.format(new Date(iso)) : '—');

/** "in 12 days", "today", "3 days ago". @param {number} days */
export function formatDays(days) {
  if (days === 0) return 'expires today';
  if (days > 0) return days === 1 ? 'in 1 day' : `in ${days.toLocaleString()} days`;
  return days === -1 ? 'expired 1 day ago' : `expired ${(-days).toLocaleString()} days ago`;
}

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

/** Soon-to-expire warning level for a valid certificate. @param {number} days */
export const urgency = (days) => (days < 0 ? 'expired' : days <= 7 ? 'critical' : days <= 30 ? 'warning' : 'ok');

/** Audit actions in words. */
const ACTIONS = /** @type {Record<string, string>} */ ({
  'certificate.import': 'Certificate imported',
  'certificate.replace': 'Certificate replaced',
  'certificate.delete': 'Certificate deleted',
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
  return ACTIONS[event.action] ?? event.action;
}

/** Where an audit target lives in the console, or null. @param {string} target */
export function targetHref(target) {
  const certificate = /^certificate:(\d+)$/.exec(target);
  if (certificate) return `#/certificates/${certificate[1]}`;
  const slot = /^edge-slot:(\d+)$/.exec(target);
  return slot ? `#/edge/${slot[1]}` : null;
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
