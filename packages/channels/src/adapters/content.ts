/**
 * Content: form submissions and downloads in Elephant's documented JSON (docs/channels.md),
 * what marketing-site form handlers post: the visitor's anonymous id, what they typed about
 * themselves, and which asset or form it was. Typed-in details are self-declared (low trust).
 */
import { ChannelError } from '../errors.ts';
import { Fields } from '../fields.ts';
import { collectorFor, finish, single, systemFor, type Built } from '../build.ts';
import { lookup, readCustomer, readKind, readTime, readTraits } from './common.ts';
import type { AdapterContext, AdapterResult } from '../context.ts';
import type { EventType } from '../vocabulary.ts';

const KINDS: Readonly<Record<string, EventType>> = {
  form: 'form_submitted',
  form_submitted: 'form_submitted',
  download: 'content_downloaded',
  content_downloaded: 'content_downloaded',
};

function adaptContentEvent(raw: unknown, context: AdapterContext): Built {
  const event = Fields.of(raw, '');
  const kind = readKind(event);
  const eventType = lookup(KINDS, kind);
  if (eventType === undefined) {
    throw new ChannelError('UNKNOWN_EVENT_TYPE', `type: ${JSON.stringify(kind)} is not a content event type (form, download)`, { details: { path: 'type', eventType: kind } });
  }
  const sourceEventId = event.id('id');
  const eventTime = readTime(event, 'occurredAt');
  const ids = collectorFor(context);
  ids.read('anonymous_id', event, 'anonymousId');
  ids.read('user_id', event, 'userId');
  readCustomer(event.optObject('customer'), ids);
  const traits = readTraits(event, ids, eventTime, { consentKey: 'consents' });
  const isForm = eventType === 'form_submitted';
  const content = {
    contentId: isForm ? event.firstString('formId', 'contentId') : event.firstString('contentId'),
    title: event.optString('contentTitle'),
    kind: event.optString('contentKind') ?? (isForm ? 'form' : 'download'),
    url: event.optString('url'),
  };
  return finish('content', systemFor('content', context), { sourceEventId, eventType, eventTime, traits, content }, ids, event, context);
}

/** Form submission or download → touchpoint. Never throws. */
export function adaptContent(raw: unknown, context: AdapterContext): AdapterResult {
  return single(raw, (value) => adaptContentEvent(value, context));
}
