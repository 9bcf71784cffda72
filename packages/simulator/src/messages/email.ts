/**
 * E-mail: SendGrid Event Webhook events of one send (delivered or bounce, open, click,
 * unsubscribe), batched into webhook POSTs at delivery. The webhook is set up for delivery
 * and engagement events, as most integrations are: `processed` would double the volume
 * without saying anything about the person.
 */
import type { EventType } from '@elephant/channels';
import { PAGES, SHOP_URL, USER_AGENTS, type EmailCampaign } from '../catalog.ts';
import { DAY, MINUTE, SECOND, seconds, type PersonContext } from '../context.ts';
import { base64Chars } from '../format.ts';
import type { EventTag } from '../model.ts';
import { page } from './web.ts';

/**
 * One campaign e-mail to `email`: delivered (or bounced), maybe opened,
 * clicked (with a visit to the shop) and unsubscribed. Nothing is sent to an address the
 * person is not known by yet, or has left.
 */
export function send(ctx: PersonContext, campaign: EmailCampaign, email: string, time: number, rates: { openRate: number; clickRate: number; unsubscribeRate?: number; bounce?: boolean }): void {
  const random = ctx.random;
  const sent = seconds(time);
  const knownAt = ctx.known.get(`email:${email}`);
  if (knownAt === undefined || knownAt > sent || sent >= ctx.world.end) return;
  const stoppedAt = ctx.stopped.get(email);
  if (stoppedAt !== undefined && stoppedAt <= sent) return;
  const messageId = `${base64Chars(random, 22)}.filterdrecv-${random.hex(10)}-1-${random.hex(8).toUpperCase()}-${random.int(100)}.0`;
  const smtpId = `<${base64Chars(random, 22)}@geopod-ismtpd-${random.int(40)}>`;
  const common = { sg_message_id: messageId, category: [campaign.category], marketing_campaign_id: campaign.id, marketing_campaign_name: campaign.name };
  const item = (event: string, at: number, fields: Record<string, unknown> = {}): void => {
    const sgEventId = base64Chars(random, 22);
    const tags: EventTag[] = [];
    const payload = { email: ctx.email(email, tags), timestamp: at / SECOND, event, sg_event_id: sgEventId, ...common, ...fields };
    const eventType: EventType = event === 'delivered' ? 'email_delivered' : event === 'open' ? 'email_opened' : event === 'click' ? 'email_clicked' : event === 'bounce' ? 'email_bounced' : 'email_unsubscribed';
    const stage = ctx.stage;
    if (eventType === 'email_unsubscribed') ctx.stage = 'retain';
    ctx.emit({ channel: 'email', payload, time: at, sourceEventId: sgEventId, eventType, identifiers: [{ type: 'email', value: email }], lag: random.between(5, 60) * SECOND, tags });
    ctx.stage = stage;
  };
  const arrived = sent + random.between(1, 20) * SECOND;
  if (rates.bounce === true) {
    item('bounce', arrived, { 'smtp-id': smtpId, type: 'bounce', status: '5.1.1', reason: '550 5.1.1 The email account that you tried to reach does not exist.', bounce_classification: 'Invalid Address' });
    ctx.stopped.set(email, arrived);
    return;
  }
  item('delivered', arrived, { 'smtp-id': smtpId, response: '250 2.0.0 OK', ip: '167.89.0.10', tls: 1 });
  if (!random.chance(rates.openRate)) return;
  const openedAt = seconds(arrived + random.between(5 * MINUTE, 2 * DAY));
  if (openedAt >= ctx.world.end) return;
  const machine = random.chance(0.2);
  item('open', openedAt, { useragent: machine ? 'Mozilla/5.0' : (USER_AGENTS[ctx.person.userAgent] ?? USER_AGENTS[0]), ip: machine ? '17.58.0.1' : ctx.person.ip, sg_machine_open: machine });
  if (random.chance(rates.clickRate)) {
    const clickedAt = openedAt + random.between(5, 600) * SECOND;
    if (clickedAt >= ctx.world.end) return;
    const landing = random.pick(PAGES);
    const url = `${SHOP_URL}${landing.path}?utm_source=sendgrid&utm_medium=email&utm_campaign=${campaign.id}`;
    item('click', clickedAt, { url, url_offset: { index: random.int(6), type: 'html' }, useragent: USER_AGENTS[ctx.person.userAgent] ?? USER_AGENTS[0], ip: ctx.person.ip });
    if (ctx.usesWeb()) {
      const device = ctx.random.pick(ctx.webDevices().filter((candidate) => candidate.kind === 'browser' || candidate.kind === 'mobile'));
      page(ctx, device, clickedAt + random.between(500, 3_000), ctx.person.userId, landing, { campaign: { name: campaign.id, source: 'sendgrid', medium: 'email' }, query: `utm_source=sendgrid&utm_medium=email&utm_campaign=${campaign.id}` });
    }
  }
  if (rates.unsubscribeRate !== undefined && random.chance(rates.unsubscribeRate)) {
    const at = openedAt + random.between(10, 900) * SECOND;
    if (at >= ctx.world.end) return;
    const group = random.chance(0.6);
    item(group ? 'group_unsubscribe' : 'unsubscribe', at, group ? { asm_group_id: campaign.asmGroupId, useragent: USER_AGENTS[ctx.person.userAgent] ?? USER_AGENTS[0], ip: ctx.person.ip } : {});
    ctx.stopped.set(email, at);
  }
}
