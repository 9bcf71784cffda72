/** Content: downloads and form submissions in Elephant's content JSON. */
import { DOWNLOADS, FORMS, SHOP_URL } from '../catalog.ts';
import { id, JUNK_PHONES, seconds, type Device, type PersonContext } from '../context.ts';
import { isoSeconds } from '../format.ts';
import type { EventTag } from '../model.ts';

export function download(ctx: PersonContext, device: Device, time: number, email: string | null): void {
  const asset = ctx.random.pick(DOWNLOADS);
  const at = seconds(time);
  const tags: EventTag[] = [];
  const payload: Record<string, unknown> = {
    type: 'download',
    id: `dl-${String(ctx.nextNumber('download')).padStart(7, '0')}`,
    occurredAt: isoSeconds(at),
    anonymousId: device.anonymousId,
    contentId: asset.id,
    contentTitle: asset.title,
    contentKind: asset.kind,
    url: `${SHOP_URL}/guides/${asset.id}.pdf`,
  };
  // Gated downloads ask for the address the guide is sent to.
  if (email !== null) payload.email = ctx.email(email, tags);
  ctx.emit({ channel: 'content', payload, time: at, sourceEventId: String(payload.id), eventType: 'content_downloaded', identifiers: [id('anonymous_id', device.anonymousId), id('email', email)], lag: ctx.random.between(200, 3_000), tags });
}

export function form(ctx: PersonContext, device: Device, time: number, which: (typeof FORMS)[number] | undefined, email: string | null, phone: string | null): void {
  const person = ctx.person;
  const chosen = which ?? FORMS[0];
  const at = seconds(time);
  const tags: EventTag[] = [];
  const payload: Record<string, unknown> = {
    type: 'form',
    id: `sub-${String(ctx.nextNumber('form')).padStart(7, '0')}`,
    occurredAt: isoSeconds(at),
    anonymousId: device.anonymousId,
    formId: chosen?.id ?? 'newsletter-signup',
    contentTitle: chosen?.title ?? 'Newsletter',
    url: `${SHOP_URL}/forms/${chosen?.id ?? 'newsletter-signup'}`,
    firstName: person.firstName,
    lastName: person.lastName,
  };
  if (email !== null) payload.email = ctx.email(email, tags);
  if (phone !== null) payload.phone = ctx.phone(phone, tags);
  else if (ctx.junk()) {
    payload.phone = ctx.random.pick(JUNK_PHONES);
    tags.push('junk');
  }
  payload.consents = [{ purpose: 'newsletter', granted: true }];
  payload.fields = { interest: ctx.random.pick(['hiking', 'running', 'camping', 'climbing']), source: 'website' };
  ctx.emit({ channel: 'content', payload, time: at, sourceEventId: String(payload.id), eventType: 'form_submitted', identifiers: [id('anonymous_id', device.anonymousId), id('email', email), id('phone', phone)], lag: ctx.random.between(200, 3_000), tags });
}
